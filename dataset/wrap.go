package dataset

import (
	"fmt"
	"hash/fnv"
	"io"
	"strconv"
	"strings"
)

// Limit returns a Source that stops after n documents; n <= 0 means no
// limit and returns src itself. Records rejected with a *RecordError do not
// count towards n. Closing it closes src.
func Limit(src Source, n int) Source {
	if n <= 0 {
		return src
	}
	return &limited{Source: src, left: n}
}

type limited struct {
	Source
	left int
}

func (l *limited) Next() (Document, error) {
	if l.left <= 0 {
		return Document{}, io.EOF
	}
	d, err := l.Source.Next()
	if err == nil {
		l.left--
	}
	return d, err
}

// Shard returns a Source with only the documents of shard i of n (1-based):
// those whose id hashes, by FNV-1a 64, to i-1 modulo n. Membership depends
// on the id alone, so n machines given the same dataset split it without
// overlap or gaps, whatever the order of the file, and their outputs merge
// back into the whole. Errors from src (including *RecordError) pass
// through. Closing it closes src.
//
// Note the order with Limit: Shard(Limit(src, N), i, n) splits the first N
// documents among n machines, whereas Limit(Shard(src, i, n), N) gives each
// machine up to N documents of its own shard.
func Shard(src Source, i, n int) (Source, error) {
	if err := checkShard(i, n); err != nil {
		return nil, err
	}
	if n == 1 {
		return src, nil
	}
	return &sharded{Source: src, i: i, n: n}, nil
}

type sharded struct {
	Source
	i, n int
}

func (s *sharded) Next() (Document, error) {
	for {
		d, err := s.Source.Next()
		if err != nil || ShardOf(d.ID, s.n) == s.i {
			return d, err
		}
	}
}

// ShardOf returns the 1-based shard, out of n, that id belongs to.
func ShardOf(id string, n int) int {
	h := fnv.New64a()
	h.Write([]byte(id))
	return int(h.Sum64()%uint64(n)) + 1
}

// ParseShard parses "i/n", as in --shard 2/4, into 1 <= i <= n. It also
// takes "index:k/n" with a 0-based k, the form a Kubernetes Indexed Job
// gives ($JOB_COMPLETION_INDEX counts from 0) where no shell is at hand to
// add one; "index:0/4" is "1/4".
func ParseShard(s string) (i, n int, err error) {
	spec, zeroBased := strings.CutPrefix(strings.TrimSpace(s), "index:")
	a, b, ok := strings.Cut(spec, "/")
	if !ok {
		return 0, 0, fmt.Errorf("shard %q: want i/n, such as 2/4 for the second of four shards, or index:k/n with k from 0", s)
	}
	if i, err = strconv.Atoi(strings.TrimSpace(a)); err != nil {
		return 0, 0, fmt.Errorf("shard %q: shard number %q is not an integer", s, a)
	}
	if n, err = strconv.Atoi(strings.TrimSpace(b)); err != nil {
		return 0, 0, fmt.Errorf("shard %q: shard count %q is not an integer", s, b)
	}
	if zeroBased && n >= 1 {
		if i < 0 || i >= n {
			return 0, 0, fmt.Errorf("shard %q: index must be between 0 and %d, got %d", s, n-1, i)
		}
		i++
	}
	if err := checkShard(i, n); err != nil {
		return 0, 0, fmt.Errorf("shard %q: %w", s, err)
	}
	return i, n, nil
}

func checkShard(i, n int) error {
	if n < 1 {
		return fmt.Errorf("shard count must be at least 1, got %d", n)
	}
	if i < 1 || i > n {
		return fmt.Errorf("shard number must be between 1 and %d, got %d", n, i)
	}
	return nil
}
