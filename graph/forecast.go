package graph

import (
	"context"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/forecast"
	"github.com/rapportcrm/rapport/internal/service"
)

var forecastGroups = map[model.ForecastGroup]service.ForecastGroup{
	model.ForecastGroupOwner: service.GroupOwner, model.ForecastGroupTeam: service.GroupTeam,
	model.ForecastGroupPipeline: service.GroupPipeline,
}

var forecastIntervals = map[model.ForecastInterval]forecast.Interval{
	model.ForecastIntervalMonth: forecast.Month, model.ForecastIntervalQuarter: forecast.Quarter,
}

// forecastInput maps the GraphQL forecast arguments to the service's.
func forecastInput(in model.ForecastInput) (service.ForecastInput, error) {
	out := service.ForecastInput{From: in.From, To: in.To, Currency: val(in.Currency)}
	if g := in.GroupBy.Value(); g != nil {
		out.GroupBy = forecastGroups[*g]
	}
	if iv := in.Interval.Value(); iv != nil {
		out.Interval = forecastIntervals[*iv]
	}
	var err error
	out.PipelineID, err = parseOptionalID("pipelineId", crm.TypePipeline, in.PipelineID.Value())
	return out, err
}

// prefetchForecast fetches ahead the owners, teams and pipelines the forecast's rows select, one
// call per field. Pipelines the actor may not read (analysts read figures, not deals) stay null.
func (r *Resolver) prefetchForecast(ctx context.Context, a *crm.Actor, f service.Forecast) error {
	p := r.prefetcher(ctx, a)
	rows := p.selected(subSelections(p.selected(selection(ctx), "Forecast")["rows"]), "ForecastRow")
	if fs := rows["owner"]; fs != nil {
		if err := p.users(ctx, crm.RefIDs(f.Rows, func(x service.ForecastRow) crm.ID { return x.OwnerID }), subSelections(fs)); err != nil {
			return err
		}
	}
	if fs := rows["team"]; fs != nil {
		if err := p.teams(ctx, crm.RefIDs(f.Rows, func(x service.ForecastRow) crm.ID { return x.TeamID }), subSelections(fs)); err != nil {
			return err
		}
	}
	if rows["pipeline"] != nil {
		ids := crm.RefIDs(f.Rows, func(x service.ForecastRow) crm.ID { return x.PipelineID })
		if err := p.pipelines(ctx, ids); err != nil {
			return err
		}
	}
	return nil
}
