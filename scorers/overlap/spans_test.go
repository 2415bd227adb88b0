package overlap

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUnsupportedSpans(t *testing.T) {
	src := "The council approved 3,400 new homes in Leeds on Monday. Mayor Ann Cole said the plan was not final."
	sum := "Mayor Ann Cole said 4,100 homes in Leeds were approved on Friday; Mayor Bob Stone said the plan was not final, and Ann Cole did not object."
	spans := Unsupported(src, sum)
	var got []string
	for _, s := range spans {
		got = append(got, s.Kind+":"+sum[s.Start:s.End])
	}
	assert.Equal(t, []string{"number:4,100", "date:Friday", "name:Bob Stone", "negation:not"}, got)
	for i := 1; i < len(spans); i++ {
		require.LessOrEqual(t, spans[i-1].End, spans[i].Start, "spans overlap")
	}
}

func TestUnsupportedMarksEveryOccurrence(t *testing.T) {
	sum := "Sales rose 12 percent. The 12 percent rise surprised Ann Cole."
	spans := Unsupported("Sales rose 10 percent, surprising analysts.", sum)
	var got []string
	for _, s := range spans {
		got = append(got, sum[s.Start:s.End])
	}
	assert.Equal(t, []string{"12", "12", "Ann Cole"}, got)
}

// Unsupported flags what Judge penalises: a summary with no spans gets no
// hard penalty, and each distinct span text is in the explanation.
func TestUnsupportedAgreesWithJudge(t *testing.T) {
	src := "Officials said 200 people attended the meeting in Paris on Tuesday."
	for _, sum := range []string{
		"Officials said 200 people attended the meeting in Paris on Tuesday.",
		"Officials said 300 people attended the meeting in Berlin on Tuesday.",
		"Nobody attended the meeting in Paris in 1999.",
	} {
		_, expl := Judge(src, sum)
		spans := Unsupported(src, sum)
		if len(spans) == 0 {
			assert.Contains(t, expl, "all supported", sum)
		}
		for _, s := range spans {
			assert.Contains(t, expl, sum[s.Start:s.End], sum)
		}
	}
}
