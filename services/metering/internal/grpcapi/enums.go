package grpcapi

import (
	meteringv1 "github.com/meterplane/meterplane/gen/meterplane/metering/v1"
	"github.com/meterplane/meterplane/services/metering/internal/metering"
	"github.com/meterplane/meterplane/services/metering/internal/report"
)

// The tables between the API's enums and the domain's: no value is cast
// from one to the other. A value missing from a table maps to the zero
// value, which the domain refuses (or the API shows as unspecified).
var (
	aggregations = map[meteringv1.Aggregation]metering.Aggregation{
		meteringv1.Aggregation_AGGREGATION_SUM:           metering.Sum,
		meteringv1.Aggregation_AGGREGATION_COUNT:         metering.Count,
		meteringv1.Aggregation_AGGREGATION_MAX:           metering.Max,
		meteringv1.Aggregation_AGGREGATION_UNIQUE_COUNT:  metering.UniqueCount,
		meteringv1.Aggregation_AGGREGATION_LATEST:        metering.Latest,
		meteringv1.Aggregation_AGGREGATION_TIME_WEIGHTED: metering.TimeWeighted,
	}
	aggregationsOut = invert(aggregations)

	statusesOut = map[metering.Status]meteringv1.EventStatus{
		metering.Accepted:  meteringv1.EventStatus_EVENT_STATUS_ACCEPTED,
		metering.Duplicate: meteringv1.EventStatus_EVENT_STATUS_DUPLICATE,
		metering.Rejected:  meteringv1.EventStatus_EVENT_STATUS_REJECTED,
	}

	reasonsOut = map[metering.Reason]meteringv1.EventError{
		metering.Invalid:            meteringv1.EventError_EVENT_ERROR_INVALID,
		metering.UnknownMeter:       meteringv1.EventError_EVENT_ERROR_UNKNOWN_METER,
		metering.UnknownCustomer:    meteringv1.EventError_EVENT_ERROR_UNKNOWN_CUSTOMER,
		metering.NegativeQuantity:   meteringv1.EventError_EVENT_ERROR_NEGATIVE_QUANTITY,
		metering.InvalidQuantity:    meteringv1.EventError_EVENT_ERROR_INVALID_QUANTITY,
		metering.FutureTime:         meteringv1.EventError_EVENT_ERROR_FUTURE_TIME,
		metering.LatePeriodClosed:   meteringv1.EventError_EVENT_ERROR_LATE_PERIOD_CLOSED,
		metering.PropertiesTooLarge: meteringv1.EventError_EVENT_ERROR_PROPERTIES_TOO_LARGE,
		metering.KeyConflict:        meteringv1.EventError_EVENT_ERROR_KEY_CONFLICT,
		metering.SourceNotAllowed:   meteringv1.EventError_EVENT_ERROR_SOURCE_NOT_ALLOWED,
	}

	windows = map[meteringv1.Window]metering.Window{
		meteringv1.Window_WINDOW_UNSPECIFIED: metering.WindowNone,
		meteringv1.Window_WINDOW_NONE:        metering.WindowNone,
		meteringv1.Window_WINDOW_HOUR:        metering.WindowHour,
		meteringv1.Window_WINDOW_DAY:         metering.WindowDay,
		meteringv1.Window_WINDOW_MONTH:       metering.WindowMonth,
	}

	formats = map[meteringv1.ReportFormat]report.Format{
		meteringv1.ReportFormat_REPORT_FORMAT_UNSPECIFIED: report.JSON,
		meteringv1.ReportFormat_REPORT_FORMAT_JSON:        report.JSON,
		meteringv1.ReportFormat_REPORT_FORMAT_XML:         report.XML,
	}
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// contentTypes are the media types of the report formats.
var contentTypes = map[report.Format]string{report.JSON: "application/json", report.XML: "application/xml"}
