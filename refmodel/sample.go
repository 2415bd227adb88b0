package refmodel

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Word lists for SampleArticle. They deliberately share nothing with the
// made-up replacements in corrupt.go, so a corruption is always detectable.
var (
	samplePeople = []string{"John Carter", "Aisha Bello", "Robert Hayes", "Mei Lin", "Carlos Ortega",
		"Sarah Whitfield", "Ahmed Nasser", "Julia Fischer", "Peter Lindqvist", "Grace Mbeki"}
	samplePlaces = []string{"Manchester", "Denver", "Osaka", "Nairobi", "Hamburg", "Toronto", "Seville",
		"Melbourne", "Krakow", "Boston"}
	sampleOrgs = []string{"the city council", "Northwind Energy", "the state university", "Harbor Health",
		"the transport ministry", "Bluewater Foods"}
	sampleThings = []string{"bridge", "hospital wing", "rail line", "solar farm", "library", "water plant"}
)

// SampleArticle returns a deterministic, news-like synthetic article for
// tests, benchmarks and demos without a dataset. Articles vary in which
// names, places, numbers, dates and negations they carry; every seventh has
// none of those in its first sentences, which exercises corrupt's fallback.
func SampleArticle(i int) string {
	rng := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	if i%7 == 6 {
		plain := []string{"Rain fell across the region overnight.", "Rivers rose slowly.",
			"Farmers watched the fields.", "Roads stayed open.", "Schools opened late.",
			"Wind bent the old trees.", "Shops closed early.", "Buses ran slowly through flooded streets.",
			"Neighbours helped each other.", "Volunteers filled sandbags."}
		rng.Shuffle(len(plain), func(a, b int) { plain[a], plain[b] = plain[b], plain[a] })
		return strings.Join(plain[:3+rng.IntN(3)], " ")
	}
	p1 := samplePeople[rng.IntN(len(samplePeople))]
	p2 := samplePeople[rng.IntN(len(samplePeople))]
	place := samplePlaces[rng.IntN(len(samplePlaces))]
	org := sampleOrgs[rng.IntN(len(sampleOrgs))]
	thing := sampleThings[rng.IntN(len(sampleThings))]
	year := 1990 + rng.IntN(34)
	money := formatNumber(float64(100+rng.IntN(900))*1000, 0, true)
	people := 12 + rng.IntN(4000)
	month := months[rng.IntN(len(months))]
	day := weekdays[rng.IntN(len(weekdays))]
	pct := fmt.Sprintf("%d.%d", 1+rng.IntN(40), rng.IntN(10))

	sentences := []string{
		fmt.Sprintf("%s said on %s that %s would spend %s dollars on a new %s in %s.", p1, day, org, money, thing, place),
		fmt.Sprintf("The old %s opened in %d and was closed after an inspection in %s.", thing, year, month),
		fmt.Sprintf("About %d residents signed a petition asking for the work to start sooner.", people),
		fmt.Sprintf("%s, who has led the project since %d, said the plan will create jobs.", p2, year+rng.IntN(10)+1),
		fmt.Sprintf("Costs have risen by %s percent since the first estimate.", pct),
		fmt.Sprintf("Critics in %s were not convinced that the money is well spent.", place),
		"Construction is expected to take two years.",
		fmt.Sprintf("A spokesperson for %s declined to comment further.", org),
	}
	rng.Shuffle(len(sentences)-2, func(a, b int) { sentences[a+1], sentences[b+1] = sentences[b+1], sentences[a+1] })
	return strings.Join(sentences[:4+rng.IntN(5)], " ")
}
