// Package tag implements the two tag (tag 2018-08-13) actions that clients
// such as the Terraform provider call for GAAP resources:
// DescribeResourceTagsByResourceIds and ModifyResourceTags. There is no
// tag store of its own: the tags read and written are the ones the GAAP
// objects carry (TagSet of CreateProxy and the other create actions), so a
// change made here is what DescribeProxies, DescribeResourcesByTag and the
// other GAAP filters see, and the other way round.
package tag

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
	"github.com/opengaap/opengaap/internal/tag/tagapi"
)

// ServiceType is the only service (the third part of a six-part resource
// description) whose resources this endpoint keeps tags for.
const ServiceType = "gaap"

// Service implements tagapi.API on a store.
type Service struct {
	store store.Store
	log   *slog.Logger
	// Notify is called after every committed write; may be nil.
	Notify func()
}

var _ tagapi.API = (*Service)(nil)

// New returns the service.
func New(st store.Store, log *slog.Logger) *Service {
	return &Service{store: st, log: log}
}

// Register returns the endpoint service with every action registered.
func (s *Service) Register() *cloudapi.Service {
	svc := cloudapi.NewService(tagapi.Service, tagapi.Version)
	tagapi.Register(svc, s)
	return svc
}

// loader reads one GAAP object of the caller and the address of its tags.
type loader func(tx *resource.Tx, id string) (model.Object, *[]model.Tag, error)

// load is the loader of one kind.
func load[T any, PT interface {
	*T
	model.Object
}](tags func(PT) *[]model.Tag) loader {
	return func(tx *resource.Tx, id string) (model.Object, *[]model.Tag, error) {
		o, err := resource.Get[T, PT](tx, id)
		if err != nil {
			return nil, nil, err
		}
		return o, tags(o), nil
	}
}

// prefixes are the resource prefixes (the part of a six-part description
// before the "/" of its last segment) of GAAP's tagged objects, as the
// provider spells them.
var prefixes = map[string]loader{
	"proxy":      load(func(p *model.Proxy) *[]model.Tag { return &p.Tags }),
	"group":      load(func(g *model.ProxyGroup) *[]model.Tag { return &g.Tags }),
	"realServer": load(func(r *model.RealServer) *[]model.Tag { return &r.Tags }),
	"domain":     projectScoped(load(func(g *model.GlobalDomain) *[]model.Tag { return &g.Tags })),
}

// projectScoped lets get also take the ID as "<projectId>#<id>": the
// Terraform provider's ID of a global domain, which it names the domain by
// to this product. The project part is not compared: the ID names one
// object whatever its project.
func projectScoped(get loader) loader {
	return func(tx *resource.Tx, id string) (model.Object, *[]model.Tag, error) {
		if project, rest, ok := strings.Cut(id, "#"); ok {
			if _, err := strconv.ParseInt(project, 10, 64); err == nil {
				id = rest
			}
		}
		return get(tx, id)
	}
}

const prefixList = "proxy, group, realServer or domain"

// maxResourceIds is DescribeResourceTagsByResourceIds' "大小不超过50".
const maxResourceIds = 50

// defaultLimit is DescribeResourceTagsByResourceIds' documented page size.
const defaultLimit = 15

// Category values (Category, TagResource.Category).
const (
	categoryAll    = "All"
	categoryCustom = "Custom"
)

// DescribeResourceTagsByResourceIds lists the tags of the caller's GAAP
// objects named by ResourceIds, one entry per tag, in the order of the IDs.
// An ID that names no object of the caller has no tags (not an error), as
// the tag service answers for resources it knows no tags of. GAAP objects
// are not regional: ResourceRegion is required but not compared.
func (s *Service) DescribeResourceTagsByResourceIds(ctx context.Context, call *cloudapi.Call, req *tagapi.DescribeResourceTagsByResourceIdsRequest) (*tagapi.DescribeResourceTagsByResourceIdsResponse, error) {
	if err := checkServiceType(*req.ServiceType, apierr.InvalidParameterValueServiceTypeInvalid, "ServiceType"); err != nil {
		return nil, err
	}
	get, ok := prefixes[*req.ResourcePrefix]
	if !ok {
		return nil, apierr.New(apierr.InvalidParameterValueResourcePrefixInvalid, "ResourcePrefix %q is not a gaap resource prefix: use %s", *req.ResourcePrefix, prefixList)
	}
	if len(req.ResourceIds) == 0 || len(req.ResourceIds) > maxResourceIds {
		return nil, apierr.New(apierr.InvalidParameterValueResourceIdInvalid, "ResourceIds must name 1 to %d resources, not %d", maxResourceIds, len(req.ResourceIds))
	}
	// Every tag a user sets is Custom; opengaap keeps no System tags.
	custom := true
	switch c := cloudapi.Value(req.Category); c {
	case "", categoryAll, categoryCustom:
	case "System":
		custom = false
	default:
		return nil, apierr.New(apierr.InvalidParameterValue, "Category %q is not Custom, System or All", c)
	}
	limit := cloudapi.ValueOr(req.Limit, defaultLimit)
	offset, size, err := cloudapi.Paging(req.Offset, &limit, 0, apierr.InvalidParameterValue)
	if err != nil {
		return nil, err
	}
	out := []tagapi.TagResource{}
	err = resource.View(ctx, s.store, call, func(tx *resource.Tx) error {
		if !custom {
			return nil
		}
		for _, id := range cloudapi.UniqueInOrder(req.ResourceIds) {
			_, tags, err := get(tx, id)
			if apierr.Is(err, apierr.ResourceNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			for _, t := range *tags {
				out = append(out, tagapi.TagResource{TagKey: new(t.Key), TagValue: new(t.Value), ResourceId: new(id),
					TagKeyMd5: new(md5hex(t.Key)), TagValueMd5: new(md5hex(t.Value)), ServiceType: new(ServiceType), Category: new(categoryCustom)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	total := len(out)
	page := resource.Window(out, offset, size)
	if page == nil {
		page = []tagapi.TagResource{}
	}
	return &tagapi.DescribeResourceTagsByResourceIdsResponse{TotalCount: new(int64(total)),
		Offset: new(int64(offset)), Limit: new(int64(size)), Tags: page}, nil
}

// ModifyResourceTags sets (ReplaceTags) and removes (DeleteTags) tags of
// one GAAP object named by a six-part resource description. Tags follow
// GAAP's TagSet rule and limits (checkChange); a key may not be both
// replaced and deleted, nor replaced twice. Deleting a key the object does not carry is no error.
func (s *Service) ModifyResourceTags(ctx context.Context, call *cloudapi.Call, req *tagapi.ModifyResourceTagsRequest) (*tagapi.ModifyResourceTagsResponse, error) {
	res, err := ParseResource(*req.Resource)
	if err != nil {
		return nil, err
	}
	if len(req.ReplaceTags) == 0 && len(req.DeleteTags) == 0 {
		return nil, apierr.New(apierr.MissingParameter, "one of ReplaceTags and DeleteTags is required")
	}
	// No resource holds more (CheckTagCount): checked first, as the checks
	// below compare every key with every other, inside the transaction
	// every account's writes wait for.
	// In this order, not a map's: a call over both is refused for the same one each time.
	for _, c := range [...]struct {
		name string
		n    int
	}{{"ReplaceTags", len(req.ReplaceTags)}, {"DeleteTags", len(req.DeleteTags)}} {
		if c.n > model.MaxTagsPerResource {
			return nil, apierr.New(apierr.InvalidParameterValueInvalidTags, "%s has %d tags; a resource holds at most %d", c.name, c.n, model.MaxTagsPerResource)
		}
	}
	replace := make([]model.Tag, 0, len(req.ReplaceTags))
	for _, t := range req.ReplaceTags {
		replace = append(replace, model.Tag{Key: strings.TrimSpace(*t.TagKey), Value: strings.TrimSpace(*t.TagValue)})
	}
	remove := make([]model.Tag, 0, len(req.DeleteTags))
	for _, t := range req.DeleteTags {
		remove = append(remove, model.Tag{Key: strings.TrimSpace(*t.TagKey)})
	}
	// Keys to delete are held to presence and repetition only (each counts
	// as stored): a tag stored before the limits must stay removable.
	if err := model.CheckTags(apierr.InvalidParameterValueInvalidTags, "DeleteTags", remove, remove); err != nil {
		return nil, err
	}
	for i, d := range remove {
		for _, r := range replace {
			if r.Key == d.Key {
				return nil, apierr.New(apierr.InvalidParameterValueDeleteTagsParamError, "DeleteTags.%d.TagKey %q is also in ReplaceTags", i, d.Key)
			}
		}
	}
	if res.Uin != "" && res.Uin != call.Account.Uin {
		// Another account's resource is as invisible as a missing one.
		return nil, notFound(res)
	}
	err = resource.Update(ctx, s.store, call, s.Notify, func(tx *resource.Tx) error {
		obj, tags, err := prefixes[res.Prefix](tx, res.ID)
		if apierr.Is(err, apierr.ResourceNotFound) {
			return notFound(res)
		}
		if err != nil {
			return err
		}
		before := slices.Clone(*tags)
		if err := retag(tx, obj, tags, replace, remove); err != nil {
			return err
		}
		if _, ok := obj.(*model.ProxyGroup); ok {
			// What the group's tags went through, not what was asked: a key
			// deleted that the group did not carry, or a value it already
			// had, is no change of the group to pass on.
			set, gone := changed(before, *tags)
			if len(set) > 0 || len(gone) > 0 {
				return retagMembers(tx, obj.Meta().ID, before, set, gone)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &tagapi.ModifyResourceTagsResponse{}, nil
}

// retag applies a change to tags, those of obj, and stores it.
func retag(tx *resource.Tx, obj model.Object, tags *[]model.Tag, replace, remove []model.Tag) error {
	after, err := checkChange(*tags, replace, remove)
	if err != nil {
		return err
	}
	*tags = after
	return tx.Put(obj)
}

// retagMembers makes a change of a group's tags reach its proxies:
// CreateProxyGroup gives them the group's tags, so that a group and its
// proxies answer the same tag filters, and they follow it, as they follow
// a change of its project (ModifyProxyGroupAttribute). The change is
// applied to each proxy's own tags, so a tag set on one proxy alone stays,
// and so does a proxy's own value for a key the group also has (it joined
// with its own, or changed it since): only a key the proxy lacks or holds
// with the group's value before (before) follows the group. Proxies being
// destroyed are left as they are.
func retagMembers(tx *resource.Tx, group string, before, replace, remove []model.Tag) error {
	proxies, err := resource.Children[model.Proxy](tx, group)
	if err != nil {
		return err
	}
	for _, p := range model.Members(proxies) {
		own := func(t model.Tag) bool {
			i := slices.IndexFunc(p.Tags, func(o model.Tag) bool { return o.Key == t.Key })
			return i >= 0 && !slices.Contains(before, p.Tags[i])
		}
		r, d := slices.DeleteFunc(slices.Clone(replace), own), slices.DeleteFunc(slices.Clone(remove), own)
		if len(r) == 0 && len(d) == 0 {
			continue
		}
		if err := retag(tx, p, &p.Tags, r, d); err != nil {
			return err
		}
	}
	return nil
}

// changed is the change from tags before to after: the tags set (new or
// with another value) and the keys removed.
func changed(before, after []model.Tag) (set, gone []model.Tag) {
	for _, t := range after {
		if !slices.Contains(before, t) {
			set = append(set, t)
		}
	}
	for _, t := range before {
		if !slices.ContainsFunc(after, func(o model.Tag) bool { return o.Key == t.Key }) {
			gone = append(gone, model.Tag{Key: t.Key})
		}
	}
	return set, gone
}

// checkChange holds a change of the tags of an object, which holds
// stored, to the tag limits (model.CheckTags, CheckTagCount): a key the
// object holds may take a new value, and a change may keep, but not add
// to, a count over the limit. It returns the tags after the change
// (apply).
func checkChange(stored, replace, remove []model.Tag) ([]model.Tag, error) {
	if err := model.CheckTags(apierr.InvalidParameterValueInvalidTags, "ReplaceTags", replace, stored); err != nil {
		return nil, err
	}
	after := apply(stored, replace, remove)
	if err := model.CheckTagCount(apierr.InvalidParameterValueInvalidTags, "ReplaceTags", len(stored), len(after)); err != nil {
		return nil, err
	}
	return after, nil
}

// apply returns tags with the values of replace set (existing keys keep
// their place, new ones are appended) and the keys of remove dropped.
func apply(tags, replace, remove []model.Tag) []model.Tag {
	out := make([]model.Tag, 0, len(tags)+len(replace))
	for _, t := range tags {
		drop := false
		for _, d := range remove {
			drop = drop || d.Key == t.Key
		}
		if !drop {
			out = append(out, t)
		}
	}
	for _, r := range replace {
		found := false
		for i := range out {
			if out[i].Key == r.Key {
				out[i].Value, found = r.Value, true
			}
		}
		if !found {
			out = append(out, r)
		}
	}
	return out
}

// Resource is a parsed six-part resource description
// qcs::<service>:<region>:uin/<uin>:<prefix>/<id>.
type Resource struct {
	Region string
	Uin    string // "" when the description leaves it out
	Prefix string
	ID     string
}

// ParseResource parses a description of a GAAP resource: six parts
// separated by ":", "qcs" first, the service type gaap, the account as
// "uin/<uin>" (the uin may be empty, as the provider sends it) and the
// resource as "<prefix>/<id>" with one of the prefixes GAAP objects have.
func ParseResource(s string) (Resource, error) {
	const shape = "qcs::gaap:<region>:uin/<uin>:<prefix>/<id>"
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "qcs" {
		return Resource{}, apierr.New(apierr.InvalidParameterValueResourceDescriptionError, "Resource %q is not a six-part resource description %s", s, shape)
	}
	if err := checkServiceType(parts[2], apierr.InvalidParameterUnsupportedService, "the service type of Resource"); err != nil {
		return Resource{}, err
	}
	uin, ok := strings.CutPrefix(parts[4], "uin/")
	if !ok {
		return Resource{}, apierr.New(apierr.InvalidParameterValueResourceDescriptionError, "Resource %q: the account part %q must be uin/<uin> (%s)", s, parts[4], shape)
	}
	prefix, id, ok := strings.Cut(parts[5], "/")
	if !ok || id == "" {
		return Resource{}, apierr.New(apierr.InvalidParameterValueResourceDescriptionError, "Resource %q: the last part %q must be <prefix>/<id> (%s)", s, parts[5], shape)
	}
	if _, ok := prefixes[prefix]; !ok {
		return Resource{}, apierr.New(apierr.InvalidParameterValueResourcePrefixInvalid, "Resource %q: %q is not a gaap resource prefix: use %s", s, prefix, prefixList)
	}
	return Resource{Region: parts[3], Uin: uin, Prefix: prefix, ID: id}, nil
}

// checkServiceType refuses every service type but gaap, with code.
func checkServiceType(t string, code apierr.Code, what string) error {
	if t == ServiceType {
		return nil
	}
	if t == "" {
		return apierr.New(code, "%s is empty; this endpoint keeps tags of %s resources only", what, ServiceType)
	}
	return apierr.New(code, "%s %q is not served: this endpoint keeps tags of %s resources only", what, t, ServiceType)
}

func notFound(r Resource) error {
	return apierr.New(apierr.ResourceNotFound, "the gaap resource %s/%s does not exist", r.Prefix, r.ID)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
