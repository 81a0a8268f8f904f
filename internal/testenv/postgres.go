package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PostgresEnv names the PostgreSQL server tests use, as a URL of a
// database they may connect to in order to create their own;
// "postgres://postgres@127.0.0.1:5432/postgres" when unset.
const PostgresEnv = "HEED_POSTGRES"

// postgresHint says how to get PostgreSQL when none answers.
const postgresHint = "start one on 127.0.0.1:5432 (Debian: apt-get install postgresql; pg_ctlcluster 15 main start) or set " + PostgresEnv + ", or run ./scripts/test, which does"

// Postgres creates a database of its own, uniquely named, on the
// PostgreSQL server of PostgresEnv and returns its URL; it is dropped when
// the test ends. It never touches another database. It skips the test
// when no server answers, or fails it when RequireEnv is set.
func Postgres(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(PostgresEnv)
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		msg, fail := missingService("PostgreSQL", postgresHint+" ("+err.Error()+")", servicesRequired())
		if fail {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "heed_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testenv: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testenv: %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}
