package redis

import (
	"errors"
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw     string
		addrs   string
		master  string
		db      int
		prefix  string
		wantErr bool
		tls     bool
	}{
		{raw: "redis://127.0.0.1:6380/2", addrs: "127.0.0.1:6380", db: 2},
		{raw: "redis://:s3cret@cache:6379/0?prefix=acme:", addrs: "cache:6379", prefix: "acme:"},
		{raw: "rediss://cache:6380", addrs: "cache:6380", tls: true},
		{raw: "redis-cluster://a:7000,b:7001,c:7002", addrs: "a:7000,b:7001,c:7002"},
		{raw: "redis-sentinel://s1:26379,s2:26379/mymaster/3", addrs: "s1:26379,s2:26379", master: "mymaster", db: 3},
		{raw: "redis-sentinel://s1:26379", wantErr: true},
		{raw: "redis-cluster://a:7000/1", wantErr: true},
		{raw: "redis-cluster://a", wantErr: true},
		{raw: "memcached://x:1", wantErr: true},
		{raw: "cache:6379", wantErr: true},
		{raw: "redis://:s3cret@cache:6379/notadb", wantErr: true},
	}
	for _, tt := range tests {
		o, prefix, err := ParseURL(tt.raw)
		if tt.wantErr {
			if err == nil || !errors.Is(err, ErrURL) || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%s: got %v, want an ErrURL that does not quote the password", tt.raw, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.raw, err)
			continue
		}
		if got := strings.Join(o.Addrs, ","); got != tt.addrs || o.MasterName != tt.master || o.DB != tt.db || prefix != tt.prefix || (o.TLSConfig != nil) != tt.tls {
			t.Errorf("%s: got addrs %s master %q db %d prefix %q tls %v", tt.raw, got, o.MasterName, o.DB, prefix, o.TLSConfig != nil)
		}
	}
}
