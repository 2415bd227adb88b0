package tokenizer

import (
	"sort"
	"strings"
)

// literalMatcher finds the longest of a small set of literal strings at the
// start of a text: special tokens and user-defined symbols. Candidates are
// bucketed by first byte so that most positions cost one table load.
type literalMatcher struct {
	byFirst [256][]literal // each bucket longest first
}

type literal struct {
	s  string
	id int
}

func newLiteralMatcher(lits []literal) *literalMatcher {
	m := &literalMatcher{}
	for _, l := range lits {
		if l.s == "" {
			continue
		}
		m.byFirst[l.s[0]] = append(m.byFirst[l.s[0]], l)
	}
	for i := range m.byFirst {
		sort.SliceStable(m.byFirst[i], func(a, b int) bool {
			return len(m.byFirst[i][a].s) > len(m.byFirst[i][b].s)
		})
	}
	return m
}

// longest returns the byte length and id of the longest literal that
// prefixes s, or n=0.
func (m *literalMatcher) longest(s string) (n, id int) {
	if len(s) == 0 {
		return 0, 0
	}
	for _, l := range m.byFirst[s[0]] {
		if strings.HasPrefix(s, l.s) {
			return len(l.s), l.id
		}
	}
	return 0, 0
}

// pieceTrie is a byte trie over the vocabulary used by the Viterbi search.
// Nodes live in one slice and each node's outgoing edges are a contiguous,
// label-sorted run of two parallel slices, so a lookup touches a few cache
// lines and the whole structure is a handful of allocations. The root, which
// has the most children, is a direct 256-entry table.
type pieceTrie struct {
	root   [256]int32 // child node of the root per byte, -1 if none
	nodes  []trieNode
	labels []byte
	next   []int32
}

type trieNode struct {
	first int32 // index of the first edge in labels/next
	n     int32 // number of edges
	piece int32 // index into the piece table of the string ending here, -1 if none
}

type trieKey struct {
	s     string
	piece int32
}

// newPieceTrie builds the trie from keys, which must be distinct.
func newPieceTrie(keys []trieKey) *pieceTrie {
	sorted := append([]trieKey(nil), keys...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].s < sorted[b].s })
	t := &pieceTrie{}
	for i := range t.root {
		t.root[i] = -1
	}
	t.nodes = append(t.nodes, trieNode{piece: -1}) // node 0: the root
	// Keys are sorted, so those sharing a prefix of length d form a
	// contiguous run; build recursively over such runs.
	var build func(node int32, run []trieKey, depth int)
	build = func(node int32, run []trieKey, depth int) {
		if len(run) > 0 && len(run[0].s) == depth {
			t.nodes[node].piece = run[0].piece
			run = run[1:]
		}
		// Group the rest by their byte at depth.
		type group struct {
			label byte
			run   []trieKey
		}
		var groups []group
		for i := 0; i < len(run); {
			j := i + 1
			for j < len(run) && run[j].s[depth] == run[i].s[depth] {
				j++
			}
			groups = append(groups, group{run[i].s[depth], run[i:j]})
			i = j
		}
		first := int32(len(t.labels))
		t.nodes[node].first, t.nodes[node].n = first, int32(len(groups))
		for _, g := range groups {
			t.labels = append(t.labels, g.label)
			t.next = append(t.next, -1)
		}
		for k, g := range groups {
			child := int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{piece: -1})
			t.next[first+int32(k)] = child
			if node == 0 {
				t.root[g.label] = child
			}
			build(child, g.run, depth+1)
		}
	}
	build(0, sorted, 0)
	return t
}

// child returns the node reached from node by byte b, or -1.
func (t *pieceTrie) child(node int32, b byte) int32 {
	if node == 0 {
		return t.root[b]
	}
	nd := t.nodes[node]
	labels := t.labels[nd.first : nd.first+nd.n]
	if len(labels) <= 8 {
		for i, l := range labels {
			if l == b {
				return t.next[nd.first+int32(i)]
			}
		}
		return -1
	}
	lo, hi := 0, len(labels)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if labels[mid] < b {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(labels) && labels[lo] == b {
		return t.next[nd.first+int32(lo)]
	}
	return -1
}
