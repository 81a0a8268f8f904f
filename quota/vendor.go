package quota

import "strings"

// Vendor names, as Signal.Vendor reports them.
const (
	VendorGitHub     = "github"
	VendorTwitter    = "twitter"
	VendorGitLab     = "gitlab"
	VendorSendGrid   = "sendgrid"
	VendorReddit     = "reddit"
	VendorDiscord    = "discord"
	VendorOpenAI     = "openai"
	VendorAnthropic  = "anthropic"
	VendorShopify    = "shopify"
	VendorSalesforce = "salesforce"
	VendorHubSpot    = "hubspot"
	VendorMicrosoft  = "microsoft"
	VendorGoogle     = "google"
	VendorFacebook   = "facebook"
	VendorAWS        = "aws"
	VendorLinear     = "linear"
	VendorZendesk    = "zendesk"
	VendorAtlassian  = "atlassian"
	VendorRapidAPI   = "rapidapi"
	VendorStripe     = "stripe"
)

// marks is a set of header shapes that point at a vendor.
type marks uint32

const (
	markGitHub marks = 1 << iota
	markTwitter
	markGitLab
	markDiscord
	markOpenAI
	markAnthropic
	markShopify
	markSalesforce
	markHubSpot
	markMicrosoft
	markGoogle
	markFacebook
	markAWS
	markLinear
	markZendesk
	markAtlassian
	markRapidAPI
	markStripe
)

// markOf returns the vendor mark of a header that names no quota itself.
func markOf(k []byte) marks {
	switch {
	case hasPrefix(k, "x-github-"):
		return markGitHub
	case hasPrefix(k, "openai-"):
		return markOpenAI
	case hasPrefix(k, "x-shopify-"):
		return markShopify
	case hasPrefix(k, "sforce-"):
		return markSalesforce
	case hasPrefix(k, "x-hubspot-"):
		return markHubSpot
	case hasPrefix(k, "x-ms-"):
		return markMicrosoft
	case hasPrefix(k, "x-goog-"):
		return markGoogle
	case hasPrefix(k, "x-fb-"), string(k) == "x-app-usage", string(k) == "x-business-use-case-usage":
		return markFacebook
	case hasPrefix(k, "x-amzn-"), hasPrefix(k, "x-amz-"):
		return markAWS
	case hasPrefix(k, "zendesk-"):
		return markZendesk
	case hasPrefix(k, "x-beta-ratelimit-"), hasPrefix(k, "beta-ratelimit"):
		return markAtlassian
	case hasPrefix(k, "x-rapidapi-"):
		return markRapidAPI
	case hasPrefix(k, "stripe-"):
		return markStripe
	}
	return 0
}

// markVendors lists the vendor of each mark, in the order they are tried.
var markVendors = [...]struct {
	m      marks
	vendor string
}{
	{markAnthropic, VendorAnthropic},
	{markOpenAI, VendorOpenAI},
	{markGitHub, VendorGitHub},
	{markShopify, VendorShopify},
	{markSalesforce, VendorSalesforce},
	{markHubSpot, VendorHubSpot},
	{markDiscord, VendorDiscord},
	{markZendesk, VendorZendesk},
	{markAtlassian, VendorAtlassian},
	{markLinear, VendorLinear},
	{markRapidAPI, VendorRapidAPI},
	{markStripe, VendorStripe},
	{markTwitter, VendorTwitter},
	{markGitLab, VendorGitLab},
	{markMicrosoft, VendorMicrosoft},
	{markGoogle, VendorGoogle},
	{markFacebook, VendorFacebook},
	{markAWS, VendorAWS},
}

// hostVendors maps a host, or a parent domain of it, to its vendor.
var hostVendors = [...]struct {
	domain string
	vendor string
}{
	{"github.com", VendorGitHub},
	{"twitter.com", VendorTwitter},
	{"x.com", VendorTwitter},
	{"gitlab.com", VendorGitLab},
	{"sendgrid.com", VendorSendGrid},
	{"reddit.com", VendorReddit},
	{"discord.com", VendorDiscord},
	{"discordapp.com", VendorDiscord},
	{"openai.azure.com", VendorMicrosoft},
	{"openai.com", VendorOpenAI},
	{"anthropic.com", VendorAnthropic},
	{"myshopify.com", VendorShopify},
	{"shopify.com", VendorShopify},
	{"salesforce.com", VendorSalesforce},
	{"force.com", VendorSalesforce},
	{"hubapi.com", VendorHubSpot},
	{"hubspot.com", VendorHubSpot},
	{"microsoft.com", VendorMicrosoft},
	{"azure.com", VendorMicrosoft},
	{"googleapis.com", VendorGoogle},
	{"facebook.com", VendorFacebook},
	{"instagram.com", VendorFacebook},
	{"amazonaws.com", VendorAWS},
	{"linear.app", VendorLinear},
	{"zendesk.com", VendorZendesk},
	{"atlassian.net", VendorAtlassian},
	{"atlassian.com", VendorAtlassian},
	{"rapidapi.com", VendorRapidAPI},
	{"stripe.com", VendorStripe},
}

// VendorOf returns the vendor whose domain host is, or is under
// ("api.github.com" → "github"), or "" when none is known; a port and
// letter case are ignored.
func VendorOf(host string) string { return vendorOfHost(host) }

// vendorOfHost returns the vendor whose domain host is, or is under; a port
// and letter case are ignored.
func vendorOfHost(host string) string {
	if host == "" {
		return ""
	}
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		host = host[:i]
	}
	host = strings.TrimSuffix(host, ".")
	for _, hv := range hostVendors {
		if hostUnder(host, hv.domain) {
			return hv.vendor
		}
	}
	if strings.HasPrefix(strings.ToLower(host), "gitlab.") {
		return VendorGitLab
	}
	return ""
}

// hostUnder reports whether host is domain or a subdomain of it.
func hostUnder(host, domain string) bool {
	if len(host) < len(domain) || !strings.EqualFold(host[len(host)-len(domain):], domain) {
		return false
	}
	return len(host) == len(domain) || host[len(host)-len(domain)-1] == '.'
}

// detectVendor decides the vendor: by host when it names one, else by the
// headers' shape.
func detectVendor(r Response, hs *headers) string {
	if r.Vendor != "" {
		return r.Vendor
	}
	if v := vendorOfHost(r.Host); v != "" {
		return v
	}
	m := hs.marks | shapeMarks(hs)
	for _, mv := range markVendors {
		if m&mv.m != 0 {
			return mv.vendor
		}
	}
	if hs.xUsed != "" && hs.xLimit == "" {
		return VendorReddit
	}
	return ""
}

// shapeMarks derives marks from the quota headers themselves.
func shapeMarks(hs *headers) marks {
	var m marks
	if hs.xResource != "" {
		m |= markGitHub
	}
	if hs.xBucket != "" || hs.xResetAfter != "" {
		m |= markDiscord
	}
	if hs.twLimit != "" || hs.twRemaining != "" {
		m |= markTwitter
	}
	if hs.rlObserved != "" || hs.rlResetTime != "" || hs.rlName != "" {
		m |= markGitLab
	}
	if hs.shopify != "" {
		m |= markShopify
	}
	if hs.sforce != "" {
		m |= markSalesforce
	}
	if hs.amznErrorType != "" {
		m |= markAWS
	}
	for _, f := range hs.namedFields() {
		switch {
		case f.fam == famOpenAI:
			m |= markOpenAI
		case f.fam == famDash:
			m |= markMicrosoft
		case f.fam == famZendesk:
			m |= markZendesk
		case f.fam == famSuffix && f.name == "complexity":
			m |= markLinear
		}
	}
	return m
}
