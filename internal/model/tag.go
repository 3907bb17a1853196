package model

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opengaap/opengaap/internal/apierr"
)

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Tencent Cloud's tag limits (cloud.tencent.com/document/product/597/33355,
// "使用限制"), which GAAP's tags follow: the GAAP reference states none,
// and without them one account could grow the shared store, and every
// describe call, by megabytes of tags per object.
const (
	// MaxTagsPerResource is how many tags one resource holds at most.
	MaxTagsPerResource = 50
	// MaxTagKeyLen and MaxTagValueLen count characters (runes).
	MaxTagKeyLen   = 255
	MaxTagValueLen = 127
	// tagPunct are the characters a tag may hold besides letters (CJK
	// included), digits and spaces.
	tagPunct = "+-=._:/@"
)

// reservedTagPrefixes start the system's tag keys, which no user may
// create. Tag keys are case-sensitive, and so is this rule.
var reservedTagPrefixes = []string{"qcloud", "tencent", "project"}

// CheckTags is the rule for tags a call sets on a resource (TagSet of the
// create actions, the tag service's ReplaceTags), given in param: every
// key is required, no key is given twice (a resource holds one value per
// key, and TagSet filters would otherwise match it under both values), and
// each key and value follows Tencent's limits: length, characters, and no
// reserved key. Values may be empty. A key the resource already holds
// (stored, nil when creating it) is not checked again, so a tag stored
// before these limits existed can still be given a new value; code is the
// one the calling action answers (InvalidParameterValue.InvalidTags where
// its error list names it). The number of tags is CheckTagCount's; a
// create checks both with CheckNewTags.
func CheckTags(code apierr.Code, param string, tags, stored []Tag) error {
	for i, t := range tags {
		if t.Key == "" {
			return apierr.New(code, "%s.%d.TagKey must not be empty", param, i)
		}
		if j := slices.IndexFunc(tags[:i], func(o Tag) bool { return o.Key == t.Key }); j >= 0 {
			return apierr.New(code, "%s.%d.TagKey %q is also %s.%d.TagKey; a resource holds one value per tag key", param, i, t.Key, param, j)
		}
		if !slices.ContainsFunc(stored, func(o Tag) bool { return o.Key == t.Key }) {
			if err := checkTagText(code, param, i, "TagKey", t.Key, MaxTagKeyLen); err != nil {
				return err
			}
			if p := reservedTagPrefix(t.Key); p != "" {
				return apierr.New(code, "%s.%d.TagKey %q starts with %q, reserved for system tags", param, i, t.Key, p)
			}
		}
		if err := checkTagText(code, param, i, "TagValue", t.Value, MaxTagValueLen); err != nil {
			return err
		}
	}
	return nil
}

// CheckTagCount refuses a change that leaves a resource with more than
// MaxTagsPerResource tags (after) and more than it had (before): one
// stored before the limit existed keeps its tags, and may drop or change
// them, but gains none. code is the one the calling action answers
// (LimitExceeded.TagQuota where its error list names it).
func CheckTagCount(code apierr.Code, param string, before, after int) error {
	if after > MaxTagsPerResource && after > before {
		return apierr.New(code, "%s would leave the resource with %d tags; a resource holds at most %d", param, after, MaxTagsPerResource)
	}
	return nil
}

// CheckNewTags holds the tags of a resource being created (nothing
// stored) to CheckTags, a bad tag answering code, and to CheckTagCount,
// too many answering quota.
func CheckNewTags(code, quota apierr.Code, param string, tags []Tag) error {
	if err := CheckTags(code, param, tags, nil); err != nil {
		return err
	}
	return CheckTagCount(quota, param, 0, len(tags))
}

// checkTagText checks one key or value (field of entry i of param): at
// most limit characters, each a letter, digit, space or one of tagPunct.
func checkTagText(code apierr.Code, param string, i int, field, s string, limit int) error {
	if n := utf8.RuneCountInString(s); n > limit {
		return apierr.New(code, "%s.%d.%s has %d characters; at most %d", param, i, field, n, limit)
	}
	if r, ok := badTagRune(s); ok {
		return apierr.New(code, "%s.%d.%s %q holds %q; tags take letters, digits, spaces and %s", param, i, field, s, r, tagPunct)
	}
	return nil
}

// badTagRune returns the first character of s a tag may not hold.
func badTagRune(s string) (rune, bool) {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != ' ' && !strings.ContainsRune(tagPunct, r) {
			return r, true
		}
	}
	return 0, false
}

func reservedTagPrefix(key string) string {
	for _, p := range reservedTagPrefixes {
		if strings.HasPrefix(key, p) {
			return p
		}
	}
	return ""
}

// MatchesAny reports whether tags contain any of want (the API's TagSet
// filters are OR).
func MatchesAny(tags, want []Tag) bool {
	if len(want) == 0 {
		return true
	}
	for _, w := range want {
		if slices.Contains(tags, w) {
			return true
		}
	}
	return false
}
