package view

import "sort"

// chunkMax bounds a chunk of the sorted list: inserting or removing moves
// at most this many pointers, and finding a position walks len/chunkMax*2
// chunk lengths at most.
const chunkMax = 512

// sortedList is a list of entries kept in order by less, stored as chunks
// of at most chunkMax entries (as Python's sortedcontainers, which
// mitmproxy's view uses): adding, removing and finding a flow cost
// O(log n + chunkMax + n/chunkMax), not O(n), at 100,000 flows.
type sortedList struct {
	chunks [][]*entry
	n      int
}

func (l *sortedList) len() int { return l.n }

func (l *sortedList) clear() { l.chunks, l.n = nil, 0 }

// chunkFor returns the index of the chunk e belongs in: the first whose
// last entry is not before e (the last chunk if e is after all).
func (l *sortedList) chunkFor(e *entry, less func(a, b *entry) bool) int {
	i := sort.Search(len(l.chunks), func(i int) bool {
		c := l.chunks[i]
		return !less(c[len(c)-1], e)
	})
	if i == len(l.chunks) {
		i--
	}
	return i
}

// insert adds e and returns its index.
func (l *sortedList) insert(e *entry, less func(a, b *entry) bool) int {
	if len(l.chunks) == 0 {
		l.chunks = [][]*entry{{e}}
		l.n = 1
		return 0
	}
	ci := l.chunkFor(e, less)
	c := l.chunks[ci]
	p := sort.Search(len(c), func(i int) bool { return less(e, c[i]) })
	c = append(c, nil)
	copy(c[p+1:], c[p:])
	c[p] = e
	l.chunks[ci] = c
	l.n++
	idx := l.offset(ci) + p
	if len(c) > chunkMax {
		half := len(c) / 2
		right := append(make([]*entry, 0, chunkMax), c[half:]...)
		l.chunks[ci] = c[:half:half]
		l.chunks = append(l.chunks, nil)
		copy(l.chunks[ci+2:], l.chunks[ci+1:])
		l.chunks[ci+1] = right
	}
	return idx
}

// offset is the index of chunk ci's first entry.
func (l *sortedList) offset(ci int) int {
	n := 0
	for _, c := range l.chunks[:ci] {
		n += len(c)
	}
	return n
}

// find returns e's chunk and position in it, or -1, -1.
func (l *sortedList) find(e *entry, less func(a, b *entry) bool) (int, int) {
	if len(l.chunks) == 0 {
		return -1, -1
	}
	ci := l.chunkFor(e, less)
	c := l.chunks[ci]
	p := sort.Search(len(c), func(i int) bool { return !less(c[i], e) })
	if p < len(c) && c[p] == e {
		return ci, p
	}
	return -1, -1
}

// rank returns how many entries sort before e (e need not be in the list).
func (l *sortedList) rank(e *entry, less func(a, b *entry) bool) int {
	if len(l.chunks) == 0 {
		return 0
	}
	ci := l.chunkFor(e, less)
	c := l.chunks[ci]
	return l.offset(ci) + sort.Search(len(c), func(i int) bool { return !less(c[i], e) })
}

// index returns e's index, or -1.
func (l *sortedList) index(e *entry, less func(a, b *entry) bool) int {
	ci, p := l.find(e, less)
	if ci < 0 {
		return -1
	}
	return l.offset(ci) + p
}

// remove takes e out and returns its former index, or -1.
func (l *sortedList) remove(e *entry, less func(a, b *entry) bool) int {
	ci, p := l.find(e, less)
	if ci < 0 {
		return -1
	}
	idx := l.offset(ci) + p
	c := l.chunks[ci]
	copy(c[p:], c[p+1:])
	c[len(c)-1] = nil
	c = c[:len(c)-1]
	if len(c) == 0 {
		l.chunks = append(l.chunks[:ci], l.chunks[ci+1:]...)
	} else {
		l.chunks[ci] = c
	}
	l.n--
	return idx
}

// at returns the entry at index i (0 <= i < len).
func (l *sortedList) at(i int) *entry {
	for _, c := range l.chunks {
		if i < len(c) {
			return c[i]
		}
		i -= len(c)
	}
	return nil
}

// slice appends the entries from index from (inclusive) to to (exclusive).
func (l *sortedList) slice(dst []*entry, from, to int) []*entry {
	for _, c := range l.chunks {
		if from >= to {
			break
		}
		if from >= len(c) {
			from -= len(c)
			to -= len(c)
			continue
		}
		end := min(to, len(c))
		dst = append(dst, c[from:end]...)
		to -= len(c)
		from = 0
	}
	return dst
}

// build replaces the contents with sorted, which it takes over.
func (l *sortedList) build(sorted []*entry) {
	l.chunks = l.chunks[:0]
	const fill = chunkMax / 2
	for len(sorted) > 0 {
		n := min(fill, len(sorted))
		c := make([]*entry, n, chunkMax)
		copy(c, sorted[:n])
		l.chunks = append(l.chunks, c)
		sorted = sorted[n:]
	}
	l.n = 0
	for _, c := range l.chunks {
		l.n += len(c)
	}
}

// all appends every entry in order.
func (l *sortedList) all(dst []*entry) []*entry {
	for _, c := range l.chunks {
		dst = append(dst, c...)
	}
	return dst
}
