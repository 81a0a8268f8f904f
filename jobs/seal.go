package jobs

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/scope"
)

// Credentials at rest. A job's credentials, the values of its request
// headers on scope.CredentialHeaders or on its upstream's configured
// credential headers, and of its upstream's configured credential query
// parameters, are sealed before the job is stored, and opened only in the
// worker that builds its request. Nothing else reads them: the API and the
// callbacks name the sealed places (Job.Sealed), never their values.
//
// Each place's values (a JSON array of strings) are sealed with AES-256-GCM
// under the current key, with a random 96-bit nonce and, as additional
// data, the job's seal id (random, 128 bits), its upstream and the place:
// a sealed value opens only in the job, upstream and place it was sealed
// for. A sealed value reads
//
//	v1.<key id>.<base64url, unpadded, of nonce || ciphertext || tag>
//
// where the key id is the first 8 hex digits of HMAC-SHA256(key,
// keyIDLabel): it names the key among the current and previous ones
// without being a plain hash of the key, which could be matched against a
// checksum of the same secret kept elsewhere.

// KeySize is the size of an encryption key in bytes (AES-256).
const KeySize = 32

// sealVersion starts every sealed value; keyIDLabel is what a key id is
// the keyed hash of.
const (
	sealVersion = "v1"
	keyIDLabel  = "heed jobs encryption key id"
)

// keyID returns the short id of key.
func keyID(key []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(keyIDLabel))
	return hex.EncodeToString(mac.Sum(nil)[:4])
}

// keyring seals under the current key and opens under any key it holds.
// It is read-only after newKeyring, so safe for concurrent use.
type keyring struct {
	current string                 // id of the key that seals
	aeads   map[string]cipher.AEAD // by key id: the current key, then the previous ones
	ids     []string               // the ids in order, for errors
}

// newKeyring returns the keyring of current and previous, or nil when
// there is no key: jobs carrying credentials are then refused. No error
// quotes a key.
func newKeyring(current []byte, previous [][]byte) (*keyring, error) {
	if current == nil {
		if len(previous) > 0 {
			return nil, errors.New("jobs: previous encryption keys without a current one")
		}
		return nil, nil
	}
	k := &keyring{aeads: make(map[string]cipher.AEAD)}
	for i, key := range append([][]byte{current}, previous...) {
		if len(key) != KeySize {
			return nil, fmt.Errorf("jobs: encryption key %d: %d bytes, want %d", i, len(key), KeySize)
		}
		id := keyID(key)
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("jobs: encryption key %d: the same key (id %s) is given twice", i, id)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("jobs: encryption key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("jobs: encryption key %d: %w", i, err)
		}
		k.aeads[id], k.ids = aead, append(k.ids, id)
	}
	k.current = k.ids[0]
	return k, nil
}

// seal encrypts plaintext bound to aad under the current key.
func (k *keyring) seal(plaintext, aad []byte) string {
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never returns an error
	box := aead.Seal(nonce, nonce, plaintext, aad)
	return sealVersion + "." + k.current + "." + base64.RawURLEncoding.EncodeToString(box)
}

// open decrypts a sealed value bound to aad. Its errors name the key id,
// never the value.
func (k *keyring) open(sealed string, aad []byte) ([]byte, error) {
	version, rest, _ := strings.Cut(sealed, ".")
	id, b64, ok := strings.Cut(rest, ".")
	if version != sealVersion || !ok {
		return nil, errors.New("not a sealed value of this version of heed")
	}
	aead, known := k.aeads[id]
	if !known {
		return nil, fmt.Errorf("sealed under key %s, which is not configured (jobs.encryption_key is %s, jobs.previous_encryption_keys %v): put the key it was sealed under back in previous_encryption_keys",
			id, k.current, k.ids[1:])
	}
	box, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(box) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("sealed under key %s: malformed", id)
	}
	plain, err := aead.Open(nil, box[:aead.NonceSize()], box[aead.NonceSize():], aad)
	if err != nil {
		return nil, fmt.Errorf("sealed under key %s: does not open (altered, or moved from another job or place)", id)
	}
	return plain, nil
}

// sealed is what a job keeps of its credentials.
type sealed struct {
	// ID is the job's identity for sealing: random, and part of each
	// value's additional data.
	ID string `json:"id"`
	// Places maps each place ("headers.Authorization", "query.api_key",
	// the name as submitted) to its values, sealed.
	Places map[string]string `json:"places"`
}

// names returns the sealed places, sorted; none for nil.
func (s *sealed) names() []string {
	if s == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.Places))
}

// The kinds of places a credential may be in, which start a place's name.
const (
	placeHeader = "headers."
	placeQuery  = "query."
)

// additionalData binds a sealed value to its job, upstream and place.
func additionalData(id, upstream, place string) []byte {
	return []byte("heed jobs seal " + sealVersion + "\x00" + id + "\x00" + upstream + "\x00" + place)
}

// credentialPlaces returns the places of req that carry a credential (a
// non-empty value), sorted.
func (e *Engine) credentialPlaces(req Request) []string {
	var policy heed.CredentialPolicy
	if e.opts.Credentials != nil {
		policy = e.opts.Credentials(req.Upstream)
	}
	headers := scope.CredentialHeaders()
	for _, h := range policy.Headers {
		headers = append(headers, http.CanonicalHeaderKey(h))
	}
	var places []string
	for name, vs := range req.Headers {
		if slices.Contains(headers, http.CanonicalHeaderKey(name)) && anyNonEmpty(vs) {
			places = append(places, placeHeader+name)
		}
	}
	for name, vs := range req.Query {
		if slices.Contains(policy.Query, name) && anyNonEmpty(vs) {
			places = append(places, placeQuery+name)
		}
	}
	slices.Sort(places)
	return places
}

// checkSealable refuses a request that carries a credential when the
// engine has no key to seal it with, naming each place.
func (e *Engine) checkSealable(req Request) error {
	if e.keys != nil {
		return nil
	}
	var errs []error
	for _, p := range e.credentialPlaces(req) {
		errs = append(errs, &FieldError{Field: p, Msg: "carries a credential, and heed stores credentials only encrypted: " +
			"set jobs.encryption_key to 32 random bytes in standard base64 (openssl rand -base64 32), or send no credential"})
	}
	return errors.Join(errs...)
}

// argsOf returns the River arguments of a validated request, its
// credentials sealed (taken out of its headers and query), or the
// *FieldError of a class its upstream lacks (checkClass). req is not
// modified.
func (e *Engine) argsOf(req Request) (requestArgs, error) {
	if err := e.checkClass(req); err != nil {
		return requestArgs{}, err
	}
	places := e.credentialPlaces(req)
	if len(places) == 0 {
		return requestArgs{Request: req, Key: req.IdempotencyKey}, nil
	}
	if err := e.checkSealable(req); err != nil {
		return requestArgs{}, err
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	s := &sealed{ID: hex.EncodeToString(id[:]), Places: make(map[string]string, len(places))}
	req.Headers, req.Query = maps.Clone(req.Headers), maps.Clone(req.Query)
	for _, p := range places {
		var vs StringList
		if name, ok := strings.CutPrefix(p, placeHeader); ok {
			vs = req.Headers[name]
			delete(req.Headers, name)
		} else {
			name = strings.TrimPrefix(p, placeQuery)
			vs = req.Query[name]
			delete(req.Query, name)
		}
		plain, err := json.Marshal(vs)
		if err != nil {
			return requestArgs{}, fmt.Errorf("jobs: seal %s: %w", p, err)
		}
		s.Places[p] = e.keys.seal(plain, additionalData(s.ID, req.Upstream, p))
	}
	return requestArgs{Request: req, Sealed: s, Key: req.IdempotencyKey}, nil
}

// unseal returns a job's request with its credentials opened, for the
// worker to build it. Its errors name the place and the key id, never a
// value.
func (e *Engine) unseal(args requestArgs) (Request, error) {
	req := args.Request
	if args.Sealed == nil {
		return req, nil
	}
	if e.keys == nil {
		return Request{}, fmt.Errorf("its credentials (%s) are sealed, and no jobs.encryption_key is configured", strings.Join(args.Sealed.names(), ", "))
	}
	req.Headers, req.Query = maps.Clone(req.Headers), maps.Clone(req.Query)
	for _, p := range args.Sealed.names() {
		plain, err := e.keys.open(args.Sealed.Places[p], additionalData(args.Sealed.ID, req.Upstream, p))
		if err != nil {
			return Request{}, fmt.Errorf("its credential %s: %w", p, err)
		}
		var vs StringList
		if err := json.Unmarshal(plain, &vs); err != nil {
			return Request{}, fmt.Errorf("its credential %s: opened, but not a list of values", p)
		}
		if name, ok := strings.CutPrefix(p, placeHeader); ok {
			req.Headers = setPlace(req.Headers, name, vs)
		} else if name, ok := strings.CutPrefix(p, placeQuery); ok {
			req.Query = setPlace(req.Query, name, vs)
		} else {
			return Request{}, fmt.Errorf("its credential %s: not a place heed seals", p)
		}
	}
	return req, nil
}

// setPlace sets m[name], making m if need be.
func setPlace(m map[string]StringList, name string, vs StringList) map[string]StringList {
	if m == nil {
		m = make(map[string]StringList)
	}
	m[name] = vs
	return m
}

// anyNonEmpty reports whether some value is not empty.
func anyNonEmpty(vs []string) bool {
	return slices.ContainsFunc(vs, func(v string) bool { return v != "" })
}
