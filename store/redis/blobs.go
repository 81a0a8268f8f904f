package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/heedhq/heed/store"
)

// DefaultMaxBlobBytes is Options.MaxBlobBytes's default: 2 MiB.
const DefaultMaxBlobBytes = 2 << 20

// MaxBlobTTL is the longest TTL SetBlob takes.
const MaxBlobTTL = 7 * 24 * time.Hour

// maxBlobKey is the longest blob key, in bytes.
const maxBlobKey = 128

// ErrBlobTooLarge is wrapped by SetBlob's error for a value longer than
// Options.MaxBlobBytes.
var ErrBlobTooLarge = errors.New("redis store: blob too large")

// maxBlobBytes applies MaxBlobBytes's default.
func maxBlobBytes(n int) int {
	if n <= 0 {
		return DefaultMaxBlobBytes
	}
	return n
}

// blobKey returns the Redis key of a blob: prefix + "cache:" + key, without
// a hash tag, so that a Cluster spreads blobs over its slots.
func (s *Store) blobKey(key string) string { return s.prefix + "cache:" + key }

// GetBlob returns the value stored under key, or nil and no error when
// there is none (never set, deleted or expired). An empty value is returned
// as an empty, non-nil slice. key must be hex, 1 to 128 bytes (a hash the
// caller made: it names no credential). It is safe for concurrent use.
func (s *Store) GetBlob(ctx context.Context, key string) ([]byte, error) {
	if err := checkBlobKey(key); err != nil {
		return nil, err
	}
	v, err := s.run(ctx, blobCall("get", s.blobKey(key))).Text()
	if errors.Is(err, goredis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, wrapBlob("get blob", err)
	}
	return []byte(v), nil
}

// SetBlob stores value under key for ttl, replacing what was there (and its
// TTL). ttl must be above 0 and at most MaxBlobTTL; it is rounded up to a
// whole millisecond. value may hold any bytes, at most Options.MaxBlobBytes
// of them (ErrBlobTooLarge otherwise); SetBlob does not keep it. key is as
// for GetBlob.
func (s *Store) SetBlob(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkBlobKey(key); err != nil {
		return err
	}
	if ttl <= 0 || ttl > MaxBlobTTL {
		return fmt.Errorf("%w: blob ttl %v, want above 0 and at most %v", store.ErrInvalid, ttl, MaxBlobTTL)
	}
	if len(value) > s.maxBlob {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrBlobTooLarge, len(value), s.maxBlob)
	}
	ms := (ttl + time.Millisecond - 1) / time.Millisecond
	// string(value) copies: a command queued for a round trip is sent even
	// after its caller stopped waiting, so it must not read the caller's
	// slice then.
	err := s.run(ctx, blobCall("set", s.blobKey(key), string(value), "px", strconv.FormatInt(int64(ms), 10))).Err()
	if err != nil {
		return wrapBlob("set blob", err)
	}
	return nil
}

// DeleteBlob removes key's value, if there is one. key is as for GetBlob.
func (s *Store) DeleteBlob(ctx context.Context, key string) error {
	if err := checkBlobKey(key); err != nil {
		return err
	}
	if err := s.run(ctx, blobCall("del", s.blobKey(key))).Err(); err != nil {
		return wrapBlob("delete blob", err)
	}
	return nil
}

// blobCall returns a plain command on a blob's key. It goes through the
// store's pipeline like every other command (so it shares round trips and
// Stats counts it), apart from the scopes' scripts: it touches none of
// their keys.
func blobCall(args ...any) *call { return &call{args: args, apart: true} }

// checkBlobKey refuses a key that is empty, longer than maxBlobKey or not
// hex, with store.ErrInvalid.
func checkBlobKey(key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty blob key", store.ErrInvalid)
	}
	if len(key) > maxBlobKey {
		return fmt.Errorf("%w: blob key of %d bytes, at most %d", store.ErrInvalid, len(key), maxBlobKey)
	}
	for i := 0; i < len(key); i++ {
		if !isHex(key[i]) {
			return fmt.Errorf("%w: blob key has %q at byte %d, want hex digits only", store.ErrInvalid, key[i], i)
		}
	}
	return nil
}

func isHex(b byte) bool {
	return '0' <= b && b <= '9' || 'a' <= b && b <= 'f' || 'A' <= b && b <= 'F'
}

// wrapBlob is wrap, and when Redis could not be reached or could not serve
// (see unreachable) the error also wraps store.ErrUnavailable, so that a
// cache can go on without its shared entries.
func wrapBlob(op string, err error) error {
	if unreachable(err) {
		return fmt.Errorf("redis store: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return wrap(op, err)
}

// unreachable reports whether err means that Redis did not answer (a
// connection refused, reset or timed out; an exhausted pool; the caller's
// deadline passed first) or answered that it cannot serve now (loading,
// cluster down, master down, try again, read-only replica, too many
// clients). An error Redis answered otherwise (WRONGTYPE, say), a closed
// store and a cancelled context are not.
func unreachable(err error) bool {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, goredis.ErrClosed), errors.Is(err, store.ErrClosed):
		return false
	case goredis.IsLoadingError(err), goredis.IsClusterDownError(err), goredis.IsMasterDownError(err),
		goredis.IsTryAgainError(err), goredis.IsReadOnlyError(err), goredis.IsMaxClientsError(err):
		return true
	}
	var answered goredis.Error
	return !errors.As(err, &answered)
}
