package gaap

import (
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// paging applies the documented Offset/Limit defaults (0 and 20) and the
// action's cap (maxLimit; 0 = none).
func paging(offset, limit *int64, maxLimit int) (int, int, error) {
	return cloudapi.Paging(offset, limit, maxLimit, apierr.InvalidParameterValue)
}

// sortBy sorts items, which come in creation order, stably by cmp;
// desc reverses the whole result, so ties (CreateTime has whole seconds)
// are newest first as in pageByCreation's descending order, and a page
// of a filtered listing agrees with the unfiltered one.
func sortBy[T any](items []T, cmp func(a, b T) int, desc bool) {
	slices.SortStableFunc(items, cmp)
	if desc {
		slices.Reverse(items)
	}
}

// pageByCreation pages the caller's objects in creation order inside the
// database, so listing stays fast however many objects there are; newest
// first when desc.
func pageByCreation[T any, PT interface {
	*T
	model.Object
}](tx *resource.Tx, q store.Query, offset, limit int, desc bool) ([]PT, int, error) {
	if limit == 0 {
		q.Limit = 1
		_, total, err := resource.List[T, PT](tx, q)
		return nil, total, err
	}
	q.Offset, q.Limit, q.Desc = offset, limit, desc
	return resource.List[T, PT](tx, q)
}
