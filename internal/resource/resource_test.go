package resource_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/store/sqlstore"
)

// TestCreationOrderIsCreateTimeOrder: listings in creation order follow
// CreateTime, the time the call arrived, not the order of commits: a call
// that arrived first but committed second was listed after one whose
// CreateTime is a second later.
func TestCreationOrderIsCreateTimeOrder(t *testing.T) {
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	arrived := time.Unix(1.8e9, 0)
	for _, c := range []struct {
		id  string
		now time.Time
	}{{"link-late", arrived.Add(time.Second)}, {"link-early", arrived}} { // committed in this order
		err := st.Update(t.Context(), func(tx store.Tx) error {
			return (&resource.Tx{Store: tx, Account: "1", Now: c.now}).Insert(&model.Proxy{Base: model.Base{ID: c.id}})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err = st.View(t.Context(), func(tx store.Tx) error {
		ps, _, err := resource.List[model.Proxy](&resource.Tx{Store: tx, Account: "1"}, store.Query{})
		for _, p := range ps {
			got = append(got, p.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "link-early" {
		t.Errorf("listed %v; want link-early (CreateTime %d) before link-late", got, arrived.Unix())
	}
}
