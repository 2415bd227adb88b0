package leaderboard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/hallu-eval/hallu/results"
)

// vectaraJudgment is one line of the leaderboard's
// output/ORG/MODEL/judgments.jsonl (github.com/vectara/hallucination-leaderboard,
// branch lb-engine). Pointers tell a missing field from a zero one.
type vectaraJudgment struct {
	SummaryUID string   `json:"summary_uid"`
	HHEMScore  *float64 `json:"hhem_score"`
	IsValid    *bool    `json:"is_valid"`
	WordCount  *int     `json:"word_count"`
}

// ReadVectara reads the leaderboard's published judgments under dir (the
// repository root, its output/ directory, or one ORG/MODEL directory): every
// judgments.jsonl found, the model named ORG/MODEL from its two parent
// directories. Validity and word count are taken from the file (is_valid,
// word_count) rather than recomputed, since the summaries are not published
// alongside; only valid summaries' scores count.
func (a *Aggregator) ReadVectara(dir string) error {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == results.JudgmentsFile {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("%s: no ORG/MODEL/%s files (is this the leaderboard's output directory?)", dir, results.JudgmentsFile)
	}
	sort.Strings(files)
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return err
		}
		modelDir := filepath.Dir(abs)
		model := filepath.Base(filepath.Dir(modelDir)) + "/" + filepath.Base(modelDir)
		if err := a.readVectaraFile(f, model); err != nil {
			return err
		}
	}
	return nil
}

func (a *Aggregator) readVectaraFile(path, model string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		if b = bytes.TrimSpace(b); len(b) == 0 {
			continue
		}
		o, derr := decodeVectara(b, model)
		if derr == nil {
			derr = a.Observe(o)
		}
		if derr != nil {
			return fmt.Errorf("%s line %d: %w", path, line, derr)
		}
	}
}

func decodeVectara(b []byte, model string) (Observation, error) {
	var j vectaraJudgment
	if err := json.Unmarshal(b, &j); err != nil {
		return Observation{}, fmt.Errorf("not a leaderboard judgment: %w", err)
	}
	switch {
	case j.SummaryUID == "":
		return Observation{}, errors.New(`judgment has no "summary_uid"`)
	case j.IsValid == nil:
		return Observation{}, errors.New(`judgment has no "is_valid"`)
	case j.WordCount == nil:
		return Observation{}, errors.New(`judgment has no "word_count"`)
	}
	o := Observation{Model: model, DocID: j.SummaryUID, Words: *j.WordCount,
		Origin: Origin{DocDigest: docDigest(j.SummaryUID, "")}}
	if !*j.IsValid {
		o.Invalid = InvalidUnstated
		return o, nil
	}
	if j.HHEMScore == nil {
		return o, nil // valid but unjudged
	}
	if s := *j.HHEMScore; s < 0 || s > 1 {
		return Observation{}, fmt.Errorf("hhem_score %v is outside [0,1]", s)
	}
	o.Scored, o.Score = true, *j.HHEMScore
	return o, nil
}
