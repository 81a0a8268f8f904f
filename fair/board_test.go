package fair_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/heedhq/heed/fair"
)

// ms is a millisecond in the Board's microseconds.
const ms = 1000

// boardStep is one Place and what the store then does with it.
type boardStep struct {
	now    int64
	turn   fair.Turn
	inTurn bool
	// until, when above 0, refuses the turn (Contend until it); otherwise
	// it is admitted when in turn, and refused for its turn with a place
	// for 100ms when not.
	until int64
}

// head returns the turn of member, of class (share) and flow, costing 1.
func head(member, class string, share int, flow string) fair.Turn {
	return fair.Turn{Member: member, Class: class, Share: share, Flow: flow, Cost: 1}
}

// runBoard runs steps on b, failing at the first Place that differs.
func runBoard(t *testing.T, b *fair.Board, steps []boardStep) {
	t.Helper()
	for i, st := range steps {
		p, err := b.Place(st.turn, st.now)
		if err != nil {
			t.Fatalf("step %d: Place(%+v): %v", i, st.turn, err)
		}
		if p.InTurn != st.inTurn {
			t.Fatalf("step %d: %s in turn %v, want %v", i, st.turn.Member, p.InTurn, st.inTurn)
		}
		switch {
		case st.until > 0:
			b.Contend(p, st.until)
		case p.InTurn:
			b.Admit(p)
		default:
			b.Contend(p, st.now+100*ms)
		}
	}
}

func TestBoardSteps(t *testing.T) {
	t.Parallel()
	a, b := head("p1", "c", 1, "a"), head("p2", "c", 1, "b")
	tests := []struct {
		name  string
		steps []boardStep
	}{
		{"EmptyBoardIsEveryonesTurn", []boardStep{
			{0, a, true, 0},
			{0, b, true, 0},
			{0, a, true, 0},
		}},
		{"TiesGoToTheAsker", []boardStep{
			{0, a, true, 10 * ms}, // refused by a limit: holds a place at tag 0
			{0, b, true, 0},       // b's tag is 0 too: a tie, b's turn
		}},
		{"SmallerContenderGoesFirst", []boardStep{
			{0, b, true, 10 * ms}, // b holds a place at 0
			{0, a, true, 0},       // a tie: a's finish tag 1, kept since b waits
			{1, a, false, 0},      // a starts at 1 > 0
			{2, b, true, 0},       // b admitted: its place is gone
			{3, a, true, 0},
		}},
		{"ExpiredContenderDoesNotBlock", []boardStep{
			{0, b, true, 10 * ms},
			{0, a, true, 0},
			{10*ms - 1, a, false, 0},
			{10 * ms, head("p3", "c", 1, "a"), true, 0}, // b's place ended at 10ms; p1's holds at tag 1, p3's is 1 too: a tie
		}},
		{"AdmittedAloneForgetsFlows", []boardStep{
			{0, a, true, 0}, // nobody waits: a's finish tag is forgotten
			{0, b, true, 10 * ms},
			{1, a, true, 0}, // a starts at 0 again: a tie with b
		}},
		{"OwnEntryIsReplaced", []boardStep{
			{0, b, true, 50 * ms}, // p2 holds a place at 0, for flow b
			{1, a, true, 0},       // a tie: a's finish tag 1
			{2, a, false, 0},      // a starts at 1 > 0
			{3, head("p2", "c", 1, "c"), true, 20 * ms}, // p2 asks for flow c, at 0: its place is replaced
			{4, a, false, 0},      // still behind p2's new place
			{20 * ms, a, true, 0}, // p2's place ended, and p1's own does not block it
		}},
		{"LowerClassTagGoesFirst", []boardStep{
			{0, head("p1", "gold", 3, "a"), true, 0},   // gold's finish 1/3
			{0, head("p2", "silver", 1, "b"), true, 0}, // silver's finish 1, V 0
			{0, head("p2", "silver", 1, "b"), true, 5 * ms},
			{1, head("p1", "gold", 3, "a"), true, 0}, // gold starts at 1/3 < 1
			{2, head("p1", "gold", 3, "a"), true, 0}, // 2/3 < 1
			{3, head("p1", "gold", 3, "a"), true, 0}, // 1: a tie with silver
			{4, head("p1", "gold", 3, "a"), false, 0},
		}},
		{"OtherClassesFlowsDoNotCount", []boardStep{
			{0, head("p2", "y", 1, "h"), true, 5 * ms}, // p2 holds a place: class tag 0, flow tag 0
			{0, head("p3", "x", 1, "g"), true, 2},      // p3 too, until 2µs
			{0, head("p1", "x", 1, "f"), true, 0},      // ties: x's finish 1, f's 1 (kept: p3 waits)
			{1, head("p4", "y", 1, "k"), true, 0},      // ties with p2: y's finish 1
			{2, head("p1", "x", 1, "f"), true, 0},      // class tags tie (1); p2's smaller flow tag (0 < 1) is of another class

		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			runBoard(t, new(fair.Board), tt.steps)
		})
	}
}

// simulate runs ticks of a store that admits one request a tick: at each
// tick every head asks, in the order given, turned around by one each
// tick; the first in turn is admitted, and its room's next head asks at
// once; the others are refused (for their turn, or for the limit) and keep
// a place for the tick. It returns how many of each flow were admitted,
// and the members admitted, in order.
func simulate(t *testing.T, heads []fair.Turn, ticks int) (map[string]int, string) {
	t.Helper()
	var b fair.Board
	got := make(map[string]int)
	var order strings.Builder
	for tick := range ticks {
		now := int64(tick) * ms
		admitted := false
		for i := range heads {
			h := heads[(i+tick)%len(heads)]
			p, err := b.Place(h, now)
			if err != nil {
				t.Fatal(err)
			}
			if p.InTurn && !admitted {
				b.Admit(p)
				admitted = true
				got[h.Flow]++
				order.WriteString(h.Member)
				// Its room's next head asks at once, and the limit
				// refuses it: it holds its place.
				if p, err = b.Place(h, now); err != nil {
					t.Fatal(err)
				}
			}
			b.Contend(p, now+ms+1)
		}
		if !admitted {
			t.Fatalf("tick %d: nobody admitted: the board is not work-conserving", tick)
		}
	}
	return got, order.String()
}

func TestBoardShares(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		heads  []fair.Turn
		ticks  int
		want   map[string]int
		slack  int
		prefix string // the order of the first admissions, when exact
	}{
		{
			name:   "TwoFlowsAlternate",
			heads:  []fair.Turn{head("A", "c", 1, "a"), head("B", "c", 1, "b")},
			ticks:  100,
			want:   map[string]int{"a": 50, "b": 50},
			prefix: "ABABABABAB",
		},
		{
			name:  "ClassesThreeToOne",
			heads: []fair.Turn{head("G", "gold", 3, "a"), head("S", "silver", 1, "b")},
			ticks: 400,
			want:  map[string]int{"a": 300, "b": 100},
			slack: 1,
		},
		{
			name:   "CostWeighsFlows",
			heads:  []fair.Turn{{Member: "A", Class: "c", Share: 1, Flow: "a", Cost: 3}, head("B", "c", 1, "b")},
			ticks:  400,
			want:   map[string]int{"a": 100, "b": 300},
			slack:  1,
			prefix: "ABABBBABBBAB",
		},
		{
			name:  "OneFlowInTwoProcessesCountsOnce",
			heads: []fair.Turn{head("A1", "c", 1, "a"), head("A2", "c", 1, "a"), head("B", "c", 1, "b")},
			ticks: 400,
			want:  map[string]int{"a": 200, "b": 200},
			slack: 1,
		},
		{
			name:  "CostBelowOneCountsOne",
			heads: []fair.Turn{{Member: "A", Class: "c", Share: 1, Flow: "a", Cost: -5}, {Member: "B", Class: "c", Share: 1, Flow: "b"}},
			ticks: 100,
			want:  map[string]int{"a": 50, "b": 50},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, order := simulate(t, tt.heads, tt.ticks)
			for m, want := range tt.want {
				if got[m] < want-tt.slack || got[m] > want+tt.slack {
					t.Errorf("flow %s admitted %d times of %d, want %d ± %d (all: %v)", m, got[m], tt.ticks, want, tt.slack, got)
				}
			}
			if !strings.HasPrefix(order, tt.prefix) {
				t.Errorf("order %.20s..., want it to start %s", order, tt.prefix)
			}
		})
	}
}

// TestBoardForgetsFlows admits 100,000 requests of distinct flows
// (tenants that come once) in two classes: the flow tags kept stay few
// when nobody else of the class waits, and at most MaxClassFlows (+1, the
// admission that overflows) a class when some member always does.
func TestBoardForgetsFlows(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		contended bool
		most      int
	}{
		{"NobodyWaits", false, 1},
		{"SomeoneAlwaysWaitsInOneClass", true, fair.MaxClassFlows + 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b fair.Board
			most := 0
			for i := range 100_000 {
				class := "c" + strconv.Itoa(i%2)
				if tt.contended && class == "c0" { // a member of c0 holds a place, at a flow never served
					p, _ := b.Place(head("holder", class, 1, "never"), int64(i))
					b.Contend(p, 1<<62)
				}
				p, err := b.Place(head("p"+strconv.Itoa(i%7), class, 1+i%2, "tenant-"+strconv.Itoa(i)), int64(i))
				if err != nil {
					t.Fatal(err)
				}
				if !p.InTurn {
					t.Fatalf("admission %d not in turn", i)
				}
				b.Admit(p)
				most = max(most, b.Flows())
			}
			if most > tt.most {
				t.Fatalf("%d flow tags kept at most over 100,000 distinct flows, want at most %d", most, tt.most)
			}
		})
	}
}

// TestBoardBoundsContenders: members beyond MaxContenders get no place,
// and those registered keep theirs.
func TestBoardBoundsContenders(t *testing.T) {
	t.Parallel()
	var b fair.Board
	for i := range fair.MaxContenders + 10 {
		p, err := b.Place(head("m"+strconv.Itoa(i), "c", 1, "f"), 0)
		if err != nil {
			t.Fatal(err)
		}
		b.Contend(p, 1000)
	}
	if n := b.Contenders(0); n != fair.MaxContenders {
		t.Fatalf("%d contenders, want %d", n, fair.MaxContenders)
	}
	p, _ := b.Place(head("m0", "c", 1, "f"), 1)
	b.Contend(p, 5000) // a registered member refreshes its place
	if n := b.Contenders(2000); n != 1 {
		t.Fatalf("%d contenders after the others' places ended, want m0's", n)
	}
}

func TestBoardIdle(t *testing.T) {
	t.Parallel()
	var b fair.Board
	hour := int64(fair.BoardIdle / 1000)
	p, _ := b.Place(head("m", "c", 1, "f"), 10)
	b.Contend(p, 2*hour)
	for _, tt := range []struct {
		now  int64
		want bool
	}{{10 + hour - 1, false}, {10 + hour, false}, {2 * hour, true}} {
		if got := b.Idle(tt.now); got != tt.want {
			t.Errorf("Idle(%d) = %v, want %v", tt.now, got, tt.want)
		}
	}
}

func TestBoardInvalidTurns(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", fair.MaxFlowLen+1)
	tests := []struct {
		turn  fair.Turn
		field string
	}{
		{fair.Turn{Class: "c", Share: 1}, "member"},
		{fair.Turn{Member: strings.Repeat("m", fair.MaxNameLen+1), Class: "c", Share: 1}, "member"},
		{fair.Turn{Member: "m", Share: 1}, "class"},
		{fair.Turn{Member: "m", Class: strings.Repeat("c", fair.MaxNameLen+1), Share: 1}, "class"},
		{fair.Turn{Member: "m", Class: "c"}, "share"},
		{fair.Turn{Member: "m", Class: "c", Share: -3}, "share"},
		{fair.Turn{Member: "m", Class: "c", Share: 1, Flow: long}, "flow"},
	}
	for _, tt := range tests {
		var b fair.Board
		_, err := b.Place(tt.turn, 0)
		if !errors.Is(err, fair.ErrInvalidTurn) || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("Place(%.40v): got %v, want ErrInvalidTurn naming %s", tt.turn, err, tt.field)
		}
		b.Admit(fair.Place{})
		b.Contend(fair.Place{}, 10)
		if b.Flows() != 0 || b.Contenders(0) != 0 {
			t.Errorf("a zero Place changed the board: %d flows, %d contenders", b.Flows(), b.Contenders(0))
		}
	}
	ok := fair.Turn{Member: "m", Class: "c", Share: 1, Flow: long[:fair.MaxFlowLen]}
	if err := ok.Validate(); err != nil {
		t.Errorf("a flow of MaxFlowLen bytes: %v", err)
	}
}
