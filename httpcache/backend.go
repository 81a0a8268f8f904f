package httpcache

import (
	"context"
	"fmt"
	"time"
)

// Backend keeps entries by key. Implementations are safe for concurrent
// use.
type Backend interface {
	// Get returns the entry under key, or nil, nil when there is none.
	// Callers never modify the returned entry.
	Get(ctx context.Context, key string) (*Entry, error)
	// Set keeps e under key for ttl (> 0). The backend may keep e itself:
	// the caller does not modify it afterwards.
	Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error
	// Delete drops key's entry; an absent key is no error.
	Delete(ctx context.Context, key string) error
}

// Blobs is a byte store with TTLs, such as heed's Redis store. GetBlob
// returns nil, nil when key is absent.
type Blobs interface {
	GetBlob(ctx context.Context, key string) ([]byte, error)
	SetBlob(ctx context.Context, key string, value []byte, ttl time.Duration) error
	DeleteBlob(ctx context.Context, key string) error
}

// Encoded is a Backend over b, entries encoded with [Entry.MarshalBinary].
// A value that does not decode is an error wrapping [ErrCorrupt]. It is
// safe for concurrent use when b is.
func Encoded(b Blobs) Backend { return encoded{b} }

type encoded struct{ blobs Blobs }

func (s encoded) Get(ctx context.Context, key string) (*Entry, error) {
	v, err := s.blobs.GetBlob(ctx, key)
	if err != nil || v == nil {
		return nil, err
	}
	e := new(Entry)
	if err := e.UnmarshalBinary(v); err != nil {
		return nil, fmt.Errorf("httpcache: entry %.12s…: %w", key, err)
	}
	return e, nil
}

func (s encoded) Set(ctx context.Context, key string, e *Entry, ttl time.Duration) error {
	v, err := e.MarshalBinary()
	if err != nil {
		return err
	}
	return s.blobs.SetBlob(ctx, key, v, ttl)
}

func (s encoded) Delete(ctx context.Context, key string) error {
	return s.blobs.DeleteBlob(ctx, key)
}
