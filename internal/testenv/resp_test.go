package testenv

import (
	"bufio"
	"strings"
	"testing"
)

func TestEncodeCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"PING"}, "*1\r\n$4\r\nPING\r\n"},
		{[]string{"INFO", "server"}, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"},
	}
	for _, tt := range tests {
		if got := string(encodeCommand(tt.args)); got != tt.want {
			t.Errorf("encodeCommand(%q): got %q, want %q", tt.args, got, tt.want)
		}
	}
}

func TestReadReply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr bool
	}{
		{"Simple", "+PONG\r\n", "PONG", false},
		{"Bulk", "$5\r\na\r\nbc\r\n", "a\r\nbc", false},
		{"EmptyBulk", "$0\r\n\r\n", "", false},
		{"Error", "-ERR unknown\r\n", "", true},
		{"NilBulk", "$-1\r\n", "", true},
		{"Integer", ":1\r\n", "", true},
		{"ShortBulk", "$5\r\nab", "", true},
		{"Empty", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readReply(bufio.NewReader(strings.NewReader(tt.in)))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("readReply(%q): got %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestInfoField(t *testing.T) {
	t.Parallel()
	info := "# Server\r\nprocess_id:42\r\ncluster_state:ok\r\ncluster_size:3\r\n"
	tests := []struct {
		name   string
		want   string
		wantOK bool
	}{
		{"process_id", "42", true},
		{"cluster_state", "ok", true},
		{"cluster_size", "3", true},
		{"cluster", "", false},
		{"missing", "", false},
	}
	for _, tt := range tests {
		if got, ok := infoField(info, tt.name); got != tt.want || ok != tt.wantOK {
			t.Errorf("infoField(%q): got %q, %v; want %q, %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}
