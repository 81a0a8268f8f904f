package redis

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
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
		{raw: "redis://cache:6379/0?timeout=soon", wantErr: true},
		{raw: "redis://cache:6379/0?batch=0", wantErr: true},
		{raw: "redis://cache:6379/0?batch=many", wantErr: true},
		{raw: "redis://cache:6379/0?pipeline=0", wantErr: true},
		{raw: "redis-cluster://a:7000,b:7001?settle_delay=never", wantErr: true},
		{raw: "redis-cluster://a:7000,b:7001?batch_ahead=-1s", wantErr: true},
		{raw: "redis-cluster://a:7000,b:7001?colour=blue", wantErr: true},
		{raw: "redis://cache:6379/0?colour=blue", wantErr: true},
		{raw: "redis://cache:6379/0?pool_size=4&prefix=p:", addrs: "cache:6379", prefix: "p:"},
	}
	for _, tt := range tests {
		o, opts, err := ParseURL(tt.raw)
		prefix := opts.Prefix
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

func TestParseURLStoreOptions(t *testing.T) {
	tests := []struct {
		raw  string
		want Options
	}{
		{"redis://cache:6379/0", Options{}},
		{"redis://cache:6379/0?prefix=a:&timeout=500ms&batch=10&batch_ahead=20ms",
			Options{Prefix: "a:", Timeout: 500 * time.Millisecond, Batch: 10, BatchAhead: 20 * time.Millisecond}},
		{"redis-cluster://a:7000,b:7001?batch=5", Options{Batch: 5}},
		{"redis-cluster://a:7000,b:7001?pipeline=1&settle_delay=5ms", Options{Pipeline: 1, SettleDelay: 5 * time.Millisecond}},
		{"redis-sentinel://s:26379/m/1?timeout=1s", Options{Timeout: time.Second}},
	}
	for _, tt := range tests {
		_, got, err := ParseURL(tt.raw)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v %v, want %+v", tt.raw, got, err, tt.want)
		}
	}
	o := Options{Prefix: "mine:", Batch: 2}.or(Options{Prefix: "url:", Batch: 9, Timeout: time.Second})
	if !reflect.DeepEqual(o, Options{Prefix: "mine:", Batch: 2, Timeout: time.Second}) {
		t.Errorf("or: got %+v, want the caller's fields to win and the rest from the URL", o)
	}
}
