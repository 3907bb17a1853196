package gaap_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opengaap/opengaap/internal/gaap"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := gaap.LoadConfig(write("ok.json", `{"bandwidthOptions":[5,10],"accessRegions":[{"id":"Moon","name":"月球","area":"Space","areaName":"太空"}],"prices":{"currency":"USD","perMbps":1}}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.BandwidthOptions) != 2 || c.AccessRegions[0].ID != "Moon" || c.Prices.Currency != "USD" {
		t.Errorf("got %+v; want the file's options, region and currency", c)
	}
	for name, body := range map[string]string{
		"typo.json":      `{"bandwithOptions":[5]}`,
		"dup.json":       `{"destRegions":[{"id":"A"},{"id":"A"}]}`,
		"empty.json":     `{"concurrentOptions":[]}`,
		"malformed.json": `{`,
		"forward.json":   `{"forwardIPs":["203.0.113.300"]}`,
		// Proxy and group domains are <id>.<domainSuffix>: a suffix that
		// is no DNS name would give every proxy an invalid one.
		"suffix.json":    `{"domainSuffix":"..bad"}`,
		"suffixdot.json": `{"domainSuffix":"example.com."}`,
		"suffixsp.json":  `{"domainSuffix":"my zone"}`,
	} {
		if _, err := gaap.LoadConfig(write(name, body)); err == nil {
			t.Errorf("LoadConfig(%s) succeeded; want an error", body)
		}
	}
}

// TestLoadConfigRetiredFeatureBitmap: a catalogue the previous release
// accepted, with a region's featureBitmap (retired: the bitmap is derived
// from what the region offers), still loads; the value is ignored and one
// deprecation warning names the regions that set it.
func TestLoadConfigRetiredFeatureBitmap(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "gaap.json")
	body := `{"accessRegions":[
		{"id":"SouthChina","name":"华南地区","area":"China","areaName":"中国","idcType":"dc","featureBitmap":207,"networkTypes":["normal","cn2"],"ipv6":true,"mainland":true},
		{"id":"Moon","name":"月球","area":"Space","areaName":"太空","featureBitmap":1}]}`
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := gaap.LoadConfig(p)
	if err != nil {
		t.Fatalf("LoadConfig of a catalogue with featureBitmap: %v; want it loaded as the previous release did", err)
	}
	if len(c.AccessRegions) != 2 || c.AccessRegions[0].ID != "SouthChina" || !c.AccessRegions[0].IPv6 {
		t.Errorf("regions %+v; want the file's", c.AccessRegions)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "featureBitmap") ||
		!strings.Contains(c.Warnings[0], "SouthChina") || !strings.Contains(c.Warnings[0], "Moon") {
		t.Errorf("warnings %q; want one naming featureBitmap and both regions", c.Warnings)
	}
}
