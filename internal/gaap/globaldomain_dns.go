package gaap

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/opengaap/opengaap/internal/apierr"
	"github.com/opengaap/opengaap/internal/cloudapi"
	"github.com/opengaap/opengaap/internal/gaap/gaapapi"
	"github.com/opengaap/opengaap/internal/model"
	"github.com/opengaap/opengaap/internal/resource"
	"github.com/opengaap/opengaap/internal/store"
)

// CreateGlobalDomainDns adds a record sending clients in some countries
// to some of the caller's proxies. A country belongs to at most one record
// of a domain. The record is 2 (creating) until applied, then 1.
func (s *Service) CreateGlobalDomainDns(ctx context.Context, call *cloudapi.Call, req *gaapapi.CreateGlobalDomainDnsRequest) (*gaapapi.CreateGlobalDomainDnsResponse, error) {
	codes, err := s.countryCodes(req.NationCountryInnerCodes)
	if err != nil {
		return nil, err
	}
	err = s.editGlobalDomain(ctx, call, trimmed(req.DomainId), func(tx *resource.Tx, g *model.GlobalDomain) error {
		proxies, err := dnsProxies(tx, req.ProxyIdList)
		if err != nil {
			return err
		}
		if err := checkCountries(g, codes, 0); err != nil {
			return err
		}
		id, err := nextRecordID(tx)
		if err != nil {
			return err
		}
		g.LastRecordID = id
		g.Records = append(g.Records, model.DnsRecord{ID: id, NationCountryInnerCodes: codes, ProxyIDs: proxies, Status: model.DnsCreating})
		_, err = tx.StartTask(g.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.CreateGlobalDomainDnsResponse{}, nil
}

// countryCodes checks NationCountryInnerCodes against the country table
// of DescribeCountryAreaMapping.
func (s *Service) countryCodes(in []string) ([]string, error) {
	codes, err := model.ParseCountryCodes("NationCountryInnerCodes", in)
	if err != nil {
		return nil, err
	}
	for i, c := range codes {
		if s.cfg.country(c) == nil {
			return nil, cloudapi.Invalid(fmt.Sprintf("NationCountryInnerCodes.%d", i),
				"%s is not a NationCountryInnerCode of DescribeCountryAreaMapping", c)
		}
	}
	return codes, nil
}

func checkCountries(g *model.GlobalDomain, codes []string, skip int64) error {
	if c := g.CountryConflict(codes, skip); c != "" {
		return apierr.New(apierr.FailedOperation, "country %s is already resolved by another DNS record of %s", c, g.ID)
	}
	return nil
}

// dnsProxies checks ProxyIdList: one or more distinct proxies of the
// caller, none being destroyed (removed at the next reconcile, it would
// leave the record's countries resolving to no proxy).
func dnsProxies(tx *resource.Tx, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, cloudapi.Invalid("ProxyIdList", "at least one proxy is required")
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if slices.Contains(out, id) {
			return nil, cloudapi.Invalid("ProxyIdList", "the proxy %s is listed twice", id)
		}
		p, err := resource.Get[model.Proxy](tx, id)
		if apierr.Is(err, apierr.ResourceNotFound) { // The only failure code the actions list.
			return nil, apierr.New(apierr.FailedOperation, "ProxyIdList: the proxy %s does not exist", id)
		}
		if err != nil {
			return nil, err
		}
		if p.Status == model.ProxyDestroying {
			return nil, apierr.New(apierr.FailedOperation, "proxy %s is being destroyed; a DNS record cannot resolve to it", id)
		}
		out = append(out, id)
	}
	return out, nil
}

// nextRecordID issues a DnsRecordId never issued before in the caller's
// account, from its DnsRecordSeq.
func nextRecordID(tx *resource.Tx) (int64, error) {
	seq, err := resource.Get[model.DnsRecordSeq](tx, tx.Account)
	if !apierr.Is(err, apierr.ResourceNotFound) {
		if err != nil {
			return 0, err
		}
		seq.Last++
		return seq.Last, tx.Put(seq)
	}
	// The account's first record, or a store from before the sequence:
	// go on from the highest ID its domains issued.
	all, _, err := resource.List[model.GlobalDomain](tx, store.Query{})
	if err != nil {
		return 0, err
	}
	seq = &model.DnsRecordSeq{Base: model.Base{ID: tx.Account}}
	for _, g := range all {
		seq.Last = max(seq.Last, g.LastRecordID)
	}
	seq.Last++
	return seq.Last, tx.Insert(seq)
}

// ModifyGlobalDomainDns replaces the countries and proxies of a record. The
// reference requires both lists; an absent one is kept instead, since
// Terraform's provider sends only the list that changed. At least one is
// needed.
func (s *Service) ModifyGlobalDomainDns(ctx context.Context, call *cloudapi.Call, req *gaapapi.ModifyGlobalDomainDnsRequest) (*gaapapi.ModifyGlobalDomainDnsResponse, error) {
	if req.ProxyIdList == nil && req.NationCountryInnerCodes == nil {
		return nil, apierr.New(apierr.MissingParameter, "the parameters ProxyIdList and NationCountryInnerCodes are missing; give either or both")
	}
	var codes []string
	if req.NationCountryInnerCodes != nil {
		var err error
		if codes, err = s.countryCodes(req.NationCountryInnerCodes); err != nil {
			return nil, err
		}
	}
	err := s.editGlobalDomain(ctx, call, trimmed(req.DomainId), func(tx *resource.Tx, g *model.GlobalDomain) error {
		r, err := settledRecord(g, cloudapi.Value(req.DnsRecordId))
		if err != nil {
			return err
		}
		if req.ProxyIdList != nil {
			if r.ProxyIDs, err = dnsProxies(tx, req.ProxyIdList); err != nil {
				return err
			}
		}
		if req.NationCountryInnerCodes != nil {
			if err := checkCountries(g, codes, r.ID); err != nil {
				return err
			}
			r.NationCountryInnerCodes = codes
		}
		r.Status = model.DnsModifying
		_, err = tx.StartTask(g.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.ModifyGlobalDomainDnsResponse{}, nil
}

// settledRecord returns the record id of g, refusing one with a change in
// progress.
func settledRecord(g *model.GlobalDomain, id int64) (*model.DnsRecord, error) {
	r := g.Record(id)
	if r == nil {
		return nil, apierr.New(apierr.FailedOperation, "the global domain %s has no DNS record %d", g.ID, id)
	}
	if r.Busy() {
		return nil, apierr.New(apierr.FailedOperation, "the DNS record %d is being changed; retry when it settles", id)
	}
	return r, nil
}

// DeleteGlobalDomainDns removes a record, found by its account-unique ID:
// 4 (deleting) until applied, then gone.
func (s *Service) DeleteGlobalDomainDns(ctx context.Context, call *cloudapi.Call, req *gaapapi.DeleteGlobalDomainDnsRequest) (*gaapapi.DeleteGlobalDomainDnsResponse, error) {
	id := cloudapi.Value(req.DnsRecordId)
	err := s.update(ctx, call, func(tx *resource.Tx) error {
		all, _, err := resource.List[model.GlobalDomain](tx, store.Query{})
		if err != nil {
			return err
		}
		for _, g := range all {
			if g.Record(id) == nil {
				continue
			}
			r, err := settledRecord(g, id)
			if err != nil {
				return err
			}
			r.Status = model.DnsDeleting
			g.UpdateTime = tx.Now.Unix()
			if err := tx.Put(g); err != nil {
				return err
			}
			_, err = tx.StartTask(g.ID)
			return err
		}
		return apierr.New(apierr.FailedOperation, "the DNS record %d does not exist", id) // As a domain that does not (globalDomain).
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DeleteGlobalDomainDnsResponse{}, nil
}

// DescribeGlobalDomainDns lists a domain's records with their countries
// and the access points of their proxies.
func (s *Service) DescribeGlobalDomainDns(ctx context.Context, call *cloudapi.Call, req *gaapapi.DescribeGlobalDomainDnsRequest) (*gaapapi.DescribeGlobalDomainDnsResponse, error) {
	out := []gaapapi.GlobalDns{}
	err := s.view(ctx, call, func(tx *resource.Tx) error {
		g, err := globalDomain(tx, trimmed(req.DomainId))
		if err != nil {
			return err
		}
		for _, r := range g.Records {
			access, err := s.accessList(tx, r.ProxyIDs, call.Language)
			if err != nil {
				return err
			}
			out = append(out, gaapapi.GlobalDns{DnsRecordId: new(r.ID), Status: new(r.Status),
				CountryAreaList: s.countryAreas(r.NationCountryInnerCodes), AccessList: access})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &gaapapi.DescribeGlobalDomainDnsResponse{GlobalDnsList: out}, nil
}

// accessList describes the access points of proxies; proxies deleted
// since the record was written are left out.
func (s *Service) accessList(tx *resource.Tx, ids []string, lang string) ([]gaapapi.ProxyAccessInfo, error) {
	out := []gaapapi.ProxyAccessInfo{}
	for _, id := range ids {
		p, err := resource.Get[model.Proxy](tx, id)
		if apierr.Is(err, apierr.ResourceNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		region := s.regionInfo(p.AccessRegion, lang, true)
		out = append(out, gaapapi.ProxyAccessInfo{RegionId: region.RegionId, RegionName: region.RegionName,
			ProxyId: new(p.ID), Vip: new(p.IP), SourceRegionIdcType: new(cmp.Or(cloudapi.Value(region.IDCType), "dc"))})
	}
	return out, nil
}

func (s *Service) countryAreas(codes []string) []gaapapi.CountryAreaMap {
	out := make([]gaapapi.CountryAreaMap, 0, len(codes))
	for _, code := range codes {
		m := gaapapi.CountryAreaMap{NationCountryInnerCode: new(code)}
		if c := s.cfg.country(code); c != nil {
			m.NationCountryName, m.GeographicalZoneName, m.GeographicalZoneInnerCode = new(c.Name), new(c.ZoneName), new(c.ZoneCode)
			m.ContinentName, m.ContinentInnerCode, m.Remark = new(c.ContinentName), new(c.ContinentCode), new(c.Remark)
		}
		out = append(out, m)
	}
	return out
}
