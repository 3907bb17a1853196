package params

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
)

// maxIndex bounds array indices in flattened names so that "A.999999999"
// cannot make the server allocate a huge slice.
const maxIndex = 10000

// unflatten turns {"Filters.0.Name": "x"} into {"Filters": [{"Name": "x"}]}.
// Numeric path segments become array positions and must be dense from 0.
func unflatten(values url.Values) (map[string]any, error) {
	root := map[string]any{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(values[k]) != 1 {
			return nil, apierr.New(apierr.InvalidParameter, "the parameter %s is given %d times", k, len(values[k]))
		}
		// No request binds a deeper name, and refusing it here keeps the
		// cost of a name linear: a 1 MB form body could otherwise be one
		// name of 500k segments, each a level of the tree.
		if strings.Count(k, ".") >= maxNameSegments {
			first, _, _ := strings.Cut(k, ".")
			return nil, apierr.New(apierr.InvalidParameter, "the parameter name %s.… has more than %d segments", first, maxNameSegments)
		}
		if err := insert(root, k, strings.Split(k, "."), values[k][0]); err != nil {
			return nil, err
		}
	}
	// The root is always an object, even when every name is a number.
	for k, v := range root {
		d, gap := densify(v)
		if gap != nil {
			gap.path = append(gap.path, k)
			slices.Reverse(gap.path)
			return nil, apierr.New(apierr.InvalidParameter, "the array %s must be numbered from 0 without gaps", strings.Join(gap.path, "."))
		}
		root[k] = d
	}
	return root, nil
}

func insert(node map[string]any, full string, segs []string, value string) error {
	for i, seg := range segs {
		if seg == "" {
			return apierr.New(apierr.InvalidParameter, "the parameter name %q is malformed", full)
		}
		if i == len(segs)-1 {
			if _, exists := node[seg]; exists {
				return apierr.New(apierr.InvalidParameter, "the parameter %s conflicts with another parameter", full)
			}
			node[seg] = value
			return nil
		}
		child, ok := node[seg]
		if !ok {
			m := map[string]any{}
			node[seg] = m
			node = m
			continue
		}
		m, ok := child.(map[string]any)
		if !ok {
			return apierr.New(apierr.InvalidParameter, "the parameter %s conflicts with another parameter", full)
		}
		node = m
	}
	return nil
}

// gapError locates an array whose indices have a gap. Its path is built
// as densify unwinds, innermost segment first, so that the walk itself
// holds no path string per level.
type gapError struct{ path []string }

// densify converts maps whose keys are all indices into slices.
func densify(node any) (any, *gapError) {
	m, ok := node.(map[string]any)
	if !ok {
		return node, nil
	}
	if isIndexed(m) {
		list := make([]any, len(m))
		for k, v := range m {
			i, _ := strconv.Atoi(k)
			if i >= len(m) {
				return nil, &gapError{}
			}
			d, gap := densify(v)
			if gap != nil {
				gap.path = append(gap.path, k)
				return nil, gap
			}
			list[i] = d
		}
		return list, nil
	}
	for k, v := range m {
		d, gap := densify(v)
		if gap != nil {
			gap.path = append(gap.path, k)
			return nil, gap
		}
		m[k] = d
	}
	return m, nil
}

func isIndexed(m map[string]any) bool {
	if len(m) == 0 {
		return false
	}
	for k := range m {
		i, err := strconv.Atoi(k)
		if err != nil || i < 0 || i > maxIndex || strconv.Itoa(i) != k {
			return false
		}
	}
	return true
}
