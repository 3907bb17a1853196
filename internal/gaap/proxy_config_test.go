package gaap_test

import (
	"os"
	"path/filepath"
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
	} {
		if _, err := gaap.LoadConfig(write(name, body)); err == nil {
			t.Errorf("LoadConfig(%s) succeeded; want an error", body)
		}
	}
}
