package dataset

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// genJSONL makes n documents with ids id-0 .. id-(n-1).
func genJSONL(n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `{"id":"id-%d","text":"Text %d."}`+"\n", i, i)
	}
	return sb.String()
}

func TestLimit(t *testing.T) {
	src := openString(t, "jsonl", "d.jsonl", genJSONL(10), Options{})
	docs, _, _ := drain(t, Limit(src, 3))
	assert.Equal(t, []string{"id-0", "id-1", "id-2"}, ids(docs))

	src = openString(t, "jsonl", "d.jsonl", genJSONL(10), Options{})
	assert.Same(t, src, Limit(src, 0), "0 means no limit")
	docs, _, _ = drain(t, Limit(openString(t, "jsonl", "d.jsonl", genJSONL(4), Options{}), 100))
	assert.Len(t, docs, 4)

	// Rejected records don't use up the limit.
	content := `{"id":"a","text":"x"}` + "\n" + `{"id":"b","text":""}` + "\n" + `{"id":"c","text":"y"}` + "\n"
	docs, recErrs, _ := drain(t, Limit(openString(t, "jsonl", "d.jsonl", content, Options{}), 2))
	assert.Equal(t, []string{"a", "c"}, ids(docs))
	assert.Len(t, recErrs, 1)
}

func TestShardPartition(t *testing.T) {
	const total, n = 1000, 4
	data := genJSONL(total)
	seen := map[string]int{}
	for i := 1; i <= n; i++ {
		src, err := Shard(openString(t, "jsonl", "d.jsonl", data, Options{}), i, n)
		require.NoError(t, err)
		docs, _, final := drain(t, src)
		require.NoError(t, final)
		// Roughly balanced: each shard gets a fair share (expected 250).
		assert.InDelta(t, total/n, len(docs), 60, "shard %d", i)
		for _, d := range docs {
			_, dup := seen[d.ID]
			require.False(t, dup, "id %s in shards %d and %d", d.ID, seen[d.ID], i)
			seen[d.ID] = i
			assert.Equal(t, i, ShardOf(d.ID, n))
		}
		// Deterministic: the same shard again yields the same ids.
		again, err := Shard(openString(t, "jsonl", "d.jsonl", data, Options{}), i, n)
		require.NoError(t, err)
		docs2, _, _ := drain(t, again)
		assert.Equal(t, ids(docs), ids(docs2))
	}
	assert.Len(t, seen, total, "the union of the shards is the whole set")

	// Membership depends on the id alone, not on file order.
	assert.Equal(t, ShardOf("id-17", n), ShardOf(strings.Clone("id-17"), n))
	// FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; mod 4 = 0, so shard 1.
	assert.Equal(t, 1, ShardOf("a", 4))
}

func TestShardOneAndErrors(t *testing.T) {
	src := openString(t, "jsonl", "d.jsonl", genJSONL(3), Options{})
	s, err := Shard(src, 1, 1)
	require.NoError(t, err)
	assert.Same(t, src, s)

	_, err = Shard(src, 0, 3)
	assert.EqualError(t, err, "shard number must be between 1 and 3, got 0")
	_, err = Shard(src, 1, 0)
	assert.EqualError(t, err, "shard count must be at least 1, got 0")
}

func TestShardPassesErrorsAndCloses(t *testing.T) {
	c := &closeCounter{Source: openString(t, "jsonl", "d.jsonl", `{"id":"b","text":"x"}`+"\n"+`{"id":"a"}`, Options{})}
	s, err := Shard(c, 2, 2)
	require.NoError(t, err)
	_, recErrs, final := drain(t, s)
	require.NoError(t, final)
	require.Len(t, recErrs, 1)
	assert.ErrorIs(t, recErrs[0], ErrMissingField)
	_, err = s.Next()
	assert.ErrorIs(t, err, io.EOF)
	require.NoError(t, Limit(s, 5).Close())
	assert.Equal(t, 1, c.closed)
}

type closeCounter struct {
	Source
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return c.Source.Close() }

func TestParseShard(t *testing.T) {
	for in, want := range map[string][2]int{
		"1/1": {1, 1}, "2/4": {2, 4}, " 4 / 4 ": {4, 4},
		"index:0/4": {1, 4}, "index:3/4": {4, 4}, " index:0/1": {1, 1},
	} {
		i, n, err := ParseShard(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, [2]int{i, n}, in)
	}
	for in, want := range map[string]string{
		"":           `shard "": want i/n, such as 2/4 for the second of four shards, or index:k/n with k from 0`,
		"2":          `shard "2": want i/n, such as 2/4 for the second of four shards, or index:k/n with k from 0`,
		"a/4":        `shard "a/4": shard number "a" is not an integer`,
		"2/x":        `shard "2/x": shard count "x" is not an integer`,
		"0/4":        `shard "0/4": shard number must be between 1 and 4, got 0`,
		"5/4":        `shard "5/4": shard number must be between 1 and 4, got 5`,
		"1/0":        `shard "1/0": shard count must be at least 1, got 0`,
		"-1/4":       `shard "-1/4": shard number must be between 1 and 4, got -1`,
		"1/2/3":      `shard "1/2/3": shard count "2/3" is not an integer`,
		"index:4/4":  `shard "index:4/4": index must be between 0 and 3, got 4`,
		"index:-1/4": `shard "index:-1/4": index must be between 0 and 3, got -1`,
		"index:0/0":  `shard "index:0/0": shard count must be at least 1, got 0`,
	} {
		_, _, err := ParseShard(in)
		assert.EqualError(t, err, want, in)
	}
}
