package mcp

import (
	"context"
	"errors"
	"fmt"

	"github.com/bot-bottle/bot-bottle/launcher"
	"github.com/bot-bottle/bot-bottle/review"
	mcpgo "github.com/mark3labs/mcp-go/mcp"
)

// Resource URIs. A bottle's resources are templates over its id.
const (
	DenialsURI     = "egress://denials"
	ProposalsURI   = "egress://proposals"
	planTemplate   = "bottle://{id}/plan"
	routesTemplate = "bottle://{id}/routes"
	// resourceDenials is how many of the newest denials egress://denials
	// holds; egress_denials pages through the rest.
	resourceDenials = 100
	jsonMIME        = "application/json"
)

// PlanURI is the resource of the plan bottle id was launched from.
func PlanURI(id string) string { return "bottle://" + id + "/plan" }

// RoutesURI is the resource of bottle id's live routes table.
func RoutesURI(id string) string { return "bottle://" + id + "/routes" }

func (o *Operator) addResources() {
	o.srv.AddResource(mcpgo.NewResource(DenialsURI, "Egress denials",
		mcpgo.WithResourceDescription(fmt.Sprintf("The %d newest denials of every bottle, newest first (egress_denials pages through all). Subscribe to hear of new ones.", resourceDenials)),
		mcpgo.WithMIMEType(jsonMIME)), o.readDenials)
	o.srv.AddResource(mcpgo.NewResource(ProposalsURI, "Egress proposals",
		mcpgo.WithResourceDescription("Every proposal with its status, decision and outcome, newest first: the review queue. Subscribe to hear of new ones and of decisions."),
		mcpgo.WithMIMEType(jsonMIME)), o.readProposals)
	o.srv.AddResourceTemplate(mcpgo.NewResourceTemplate(planTemplate, "Bottle plan",
		mcpgo.WithTemplateDescription("The plan a running bottle was launched from."),
		mcpgo.WithTemplateMIMEType(jsonMIME)), o.readPlan)
	o.srv.AddResourceTemplate(mcpgo.NewResourceTemplate(routesTemplate, "Bottle routes",
		mcpgo.WithTemplateDescription("A running bottle's live routes table; updated after every reload."),
		mcpgo.WithTemplateMIMEType(jsonMIME)), o.readRoutes)
}

func (o *Operator) readDenials(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	page, err := queryDenials(ctx, o.ctl.cfg.Channel.Store(), denialQuery{Limit: resourceDenials})
	if err != nil {
		return nil, err
	}
	return jsonContents(req.Params.URI, Denials{Denials: page.Denials, NextCursor: page.Next})
}

func (o *Operator) readProposals(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	out, err := o.proposals(ctx, review.Filter{})
	if err != nil {
		return nil, err
	}
	return jsonContents(req.Params.URI, out)
}

func (o *Operator) readPlan(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	id, err := templateID(req)
	if err != nil {
		return nil, err
	}
	in, b, err := o.ctl.bottleInfo(ctx, id)
	if err != nil {
		return nil, err
	}
	if b != nil {
		return jsonContents(req.Params.URI, b.Plan())
	}
	if launcher.Terminal(in.State) || in.RunDir == "" {
		return nil, fmt.Errorf("bottle %s has %s and its run folder went with it; bottle_plan %s shows what a new launch would be", id, in.State, in.Name)
	}
	plan, err := readPlanCopy(launcher.RunDir{Root: in.RunDir})
	if err != nil {
		return nil, fmt.Errorf("bottle %s: %w", id, err)
	}
	return jsonContents(req.Params.URI, plan)
}

func (o *Operator) readRoutes(ctx context.Context, req mcpgo.ReadResourceRequest) ([]mcpgo.ResourceContents, error) {
	id, err := templateID(req)
	if err != nil {
		return nil, err
	}
	rf, source, err := o.routesOf(ctx, id)
	if err != nil {
		return nil, err
	}
	return jsonContents(req.Params.URI, Routes{Bottle: id, Source: source, Routes: rf})
}

// templateID is the {id} of a bottle resource. mcp-go hands template
// variables over as uritemplate values ([]string for a simple variable).
func templateID(req mcpgo.ReadResourceRequest) (string, error) {
	var id string
	switch v := req.Params.Arguments["id"].(type) {
	case string:
		id = v
	case []string:
		if len(v) == 1 {
			id = v[0]
		}
	}
	if id == "" {
		return "", errors.New("the resource names no bottle id: bottle://{id}/plan or bottle://{id}/routes")
	}
	if why := launcher.CheckID(id); why != "" {
		return "", fmt.Errorf("bottle id %q %s", id, why)
	}
	return id, nil
}

func jsonContents(uri string, v any) ([]mcpgo.ResourceContents, error) {
	text, err := jsonText(v)
	if err != nil {
		return nil, err
	}
	return []mcpgo.ResourceContents{mcpgo.TextResourceContents{URI: uri, MIMEType: jsonMIME, Text: text}}, nil
}
