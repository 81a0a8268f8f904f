package jobs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// A batch, {"jobs": [job, ...]}, is read as a stream: one job at a time,
// each validated as it is read and kept only while every job before it
// was valid, so that the API holds at most the batch's valid jobs (within
// MaxBatchBytes), one job's JSON (within Limits' bound for a job) and the
// first maxBatchProblems problems. A batch over MaxBatchBytes is refused
// with 413 as soon as that much has been read, whatever its jobs.

// maxBatchProblems bounds the jobs whose problems a refused batch lists.
const maxBatchProblems = 100

// batchReader is the state of one batch being read.
type batchReader struct {
	a      *api
	in     *boundedReader
	dec    *json.Decoder
	raw    json.RawMessage // the job being read, its buffer reused
	limit  int             // MaxBatchBytes
	step   int             // Limits' bound for a job's JSON
	n      int             // jobs read
	reqs   []Request       // the valid jobs, while all are
	errs   []error         // the first maxBatchProblems jobs' problems
	others int             // jobs with problems beyond those
}

// decodeBatch reads a batch of at most limit bytes from r.
func (a *api) decodeBatch(r io.Reader, limit int) ([]Request, error) {
	in := &boundedReader{r: r}
	b := &batchReader{a: a, in: in, dec: json.NewDecoder(in), limit: limit, step: a.opts.Limits.maxJobBytes()}
	if err := b.object(); err != nil {
		return nil, err
	}
	switch max := a.opts.maxBatch(); {
	case b.n == 0:
		return nil, &FieldError{Field: "jobs", Msg: "want a non-empty array of jobs"}
	case b.n > max:
		return nil, &FieldError{Field: "jobs", Msg: fmt.Sprintf("%d jobs; at most %d per batch", b.n, max)}
	case b.others > 0:
		b.errs = append(b.errs, &FieldError{Field: "jobs", Msg: fmt.Sprintf("%d more jobs have problems, not listed", b.others)})
	}
	if len(b.errs) > 0 {
		return nil, errors.Join(b.errs...)
	}
	return b.reqs, nil
}

// object reads the batch's one JSON object, whose one field is jobs.
func (b *batchReader) object() error {
	if err := b.delim('{', "want a JSON object with jobs"); err != nil {
		return err
	}
	seen := false
	for b.more() {
		tok, err := b.dec.Token()
		if err != nil {
			return b.readError(err)
		}
		switch key, _ := tok.(string); {
		case key != "jobs":
			return &FieldError{Field: key, Msg: "unknown field"}
		case seen:
			return &FieldError{Field: "jobs", Msg: "given twice"}
		}
		seen = true
		if err := b.jobs(); err != nil {
			return err
		}
	}
	if err := b.delim('}', ""); err != nil {
		return err
	}
	if _, err := b.dec.Token(); err != io.EOF {
		if err != nil {
			return b.readError(err)
		}
		return &FieldError{Field: "(body)", Msg: "one JSON object expected; found more after it"}
	}
	return nil
}

// jobs reads the array of jobs.
func (b *batchReader) jobs() error {
	if err := b.delim('[', "want an array of jobs"); err != nil {
		return err
	}
	for b.more() {
		if err := b.job(); err != nil {
			return err
		}
	}
	return b.delim(']', "")
}

// job reads and checks the next job. Only an error that ends the reading
// (the body's syntax, its bounds) is returned; a job's problems are kept.
func (b *batchReader) job() error {
	i := b.n
	b.bound()
	if err := b.dec.Decode(&b.raw); err != nil {
		if errors.Is(err, errJobTooLarge) {
			return fmt.Errorf("%w: jobs[%d] is over %d bytes of JSON", ErrTooLarge, i, b.step)
		}
		return b.readError(err)
	}
	b.n++
	if b.n > b.a.opts.maxBatch() {
		b.reqs = nil // counted only, to say how many
		return nil
	}
	req, err := b.a.decode(bytes.NewReader(b.raw))
	switch {
	case err != nil && len(b.errs) < maxBatchProblems:
		b.errs, b.reqs = append(b.errs, prefixed(err, fmt.Sprintf("jobs[%d].", i))), nil
	case err != nil:
		b.others++
	case len(b.errs) == 0:
		b.reqs = append(b.reqs, req)
	}
	return nil
}

// bound lets the decoder read at most a job's bound (and the one byte that
// tells it is over) past what it has decoded.
func (b *batchReader) bound() { b.in.stopAt = b.dec.InputOffset() + int64(b.step) + 1 }

// more reports whether another element or field follows, within bounds.
func (b *batchReader) more() bool {
	b.bound()
	return b.dec.More()
}

// delim reads the delimiter want; wrong describes what was expected when
// the token is another ("" for JSON that cannot be otherwise).
func (b *batchReader) delim(want json.Delim, wrong string) error {
	b.bound()
	tok, err := b.dec.Token()
	if err != nil {
		return b.readError(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		field := "(body)"
		if want == '[' {
			field = "jobs"
		}
		return &FieldError{Field: field, Msg: wrong}
	}
	return nil
}

// readError is the error of a failed read of the batch: too large, or its
// JSON's problem.
func (b *batchReader) readError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return batchTooLarge(b.limit)
	}
	if errors.Is(err, errJobTooLarge) {
		return fmt.Errorf("%w: over %d bytes of JSON without a whole job", ErrTooLarge, b.step)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &FieldError{Field: "(body)", Msg: "the JSON ends early"}
	}
	return jsonError(err)
}

// batchTooLarge is the error of a batch over limit bytes.
func batchTooLarge(limit int) error {
	return fmt.Errorf("%w: a batch is at most %d bytes (jobs.max_batch_bytes); split it", ErrTooLarge, limit)
}

// errJobTooLarge ends the reading of a job longer than a job may be.
var errJobTooLarge = errors.New("jobs: a job too large")

// boundedReader reads r up to the offset stopAt, which batchReader moves
// on before each token and job, and returns errJobTooLarge beyond: the
// decoder, which buffers a whole value (and the space before it), then
// never holds more than a job's bound.
type boundedReader struct {
	r      io.Reader
	read   int64 // bytes read so far
	stopAt int64
}

func (br *boundedReader) Read(p []byte) (int, error) {
	left := br.stopAt - br.read
	if left <= 0 {
		return 0, errJobTooLarge
	}
	p = p[:min(int64(len(p)), left)]
	n, err := br.r.Read(p)
	br.read += int64(n)
	return n, err
}
