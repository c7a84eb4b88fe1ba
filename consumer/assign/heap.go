package assign

// topicHeaps keeps, for every topic, the members subscribed to it in a
// min-heap ordered by partition count (then member index), so the lightest
// possible receiver of a topic's partition is always at the top. A count
// change costs O(subscriptions × log members) to repair.
type topicHeaps struct {
	e    *engine
	heap [][]heapEntry // [topic]
	pos  [][]int32     // [member][k]: heap index of member in topic subsOf[member][k]
}

type heapEntry struct {
	m, k int32 // member, and the topic's index in subsOf[m]
}

func newTopicHeaps(e *engine) *topicHeaps {
	h := &topicHeaps{e: e, heap: make([][]heapEntry, len(e.topics)), pos: make([][]int32, len(e.members))}
	total := 0
	for _, s := range e.subsOf {
		total += len(s)
	}
	posBuf := make([]int32, total)
	entries := make([]heapEntry, total)
	n := 0
	for t := range e.topics {
		h.heap[t] = entries[n : n : n+len(e.eligible[t])]
		n += len(e.eligible[t])
	}
	n = 0
	for m, s := range e.subsOf {
		h.pos[m] = posBuf[n : n+len(s) : n+len(s)]
		n += len(s)
		for k, t := range s {
			h.pos[m][k] = int32(len(h.heap[t]))
			h.heap[t] = append(h.heap[t], heapEntry{int32(m), int32(k)})
		}
	}
	for t := range h.heap {
		for i := len(h.heap[t])/2 - 1; i >= 0; i-- {
			h.down(t, i)
		}
	}
	return h
}

// top returns the lightest member subscribed to topic t, or -1.
func (h *topicHeaps) top(t int32) int {
	if len(h.heap[t]) == 0 {
		return -1
	}
	return int(h.heap[t][0].m)
}

// update repairs every heap holding member m after its count changed.
func (h *topicHeaps) update(m int) {
	for k, t := range h.e.subsOf[m] {
		i := int(h.pos[m][k])
		if !h.up(t, i) {
			h.down(t, i)
		}
	}
}

func (h *topicHeaps) less(t, i, j int) bool {
	a, b := h.heap[t][i].m, h.heap[t][j].m
	ca, cb := h.e.count[a], h.e.count[b]
	return ca < cb || (ca == cb && a < b)
}

func (h *topicHeaps) swap(t, i, j int) {
	hp := h.heap[t]
	hp[i], hp[j] = hp[j], hp[i]
	h.pos[hp[i].m][hp[i].k] = int32(i)
	h.pos[hp[j].m][hp[j].k] = int32(j)
}

func (h *topicHeaps) up(t, i int) bool {
	moved := false
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(t, i, parent) {
			break
		}
		h.swap(t, i, parent)
		i, moved = parent, true
	}
	return moved
}

func (h *topicHeaps) down(t, i int) {
	n := len(h.heap[t])
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h.less(t, r, l) {
			c = r
		}
		if !h.less(t, c, i) {
			return
		}
		h.swap(t, i, c)
		i = c
	}
}
