package auth

// Rule is who may call one RPC. An admin may call every RPC, and the
// service credential every RPC but the management of keys; Roles names
// the other roles that may.
type Rule struct {
	Roles []Role
	// Customer names the request's field that names the customer. A
	// customer key may call the RPC only for a customer it sees; for
	// another, the answer is NotFound, as if the customer did not exist.
	Customer string
	// Scoped says that the service's store reads only what a customer key
	// sees (CustomerScope): the RPC names its resource by id (an invoice,
	// a subscription), or the request may leave Customer empty to mean
	// "all I may see". Without it, a customer key must name its customer.
	Scoped bool
	// Keys marks the management of keys, which the service credential may
	// not do.
	Keys bool
}

// Roles that the rules name often.
var (
	provisioner = []Role{Provisioner}
	ingest      = []Role{Provisioner, Collector}
	catalogRead = []Role{Provisioner, Customer}
	customers   = []Role{Provisioner, Customer}
	own         = []Role{Customer}
)

// Policy is the one table of who may call which RPC, by full method name.
// An RPC without an entry is refused to everyone (a test fails when one
// is missing); health and reflection are open (see Open).
var Policy = map[string]Rule{
	// Catalog: admins write it; provisioners and customers read it
	// (customers only what is published: the catalog's store is scoped).
	"/meterplane.catalog.v1.CatalogService/CreateFeature":          {},
	"/meterplane.catalog.v1.CatalogService/GetFeature":             {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/ListFeatures":           {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/UpdateFeature":          {},
	"/meterplane.catalog.v1.CatalogService/CreatePlan":             {},
	"/meterplane.catalog.v1.CatalogService/GetPlan":                {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/ListPlans":              {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/UpdatePlan":             {},
	"/meterplane.catalog.v1.CatalogService/UpdatePlanVersion":      {},
	"/meterplane.catalog.v1.CatalogService/PublishPlan":            {},
	"/meterplane.catalog.v1.CatalogService/CreatePlanVersion":      {},
	"/meterplane.catalog.v1.CatalogService/GetPlanVersion":         {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/ArchivePlan":            {},
	"/meterplane.catalog.v1.CatalogService/CreateComputePlan":      {},
	"/meterplane.catalog.v1.CatalogService/GetComputePlan":         {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/UpdateComputePlan":      {},
	"/meterplane.catalog.v1.CatalogService/ListComputePlans":       {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/CreateStoragePlan":      {},
	"/meterplane.catalog.v1.CatalogService/GetStoragePlan":         {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/UpdateStoragePlan":      {},
	"/meterplane.catalog.v1.CatalogService/ListStoragePlans":       {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/CreateOffering":         {},
	"/meterplane.catalog.v1.CatalogService/GetOffering":            {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/ListOfferings":          {Roles: catalogRead, Scoped: true},
	"/meterplane.catalog.v1.CatalogService/UpdateOffering":         {},
	"/meterplane.catalog.v1.CatalogService/SetOfferingAssignments": {},
	"/meterplane.catalog.v1.CatalogService/ListPlansForOffering":   {Roles: catalogRead, Scoped: true},

	// Subscription: admins change it; provisioners read customers and
	// their subscriptions; customers read their own.
	"/meterplane.subscription.v1.SubscriptionService/CreateCustomer":          {},
	"/meterplane.subscription.v1.SubscriptionService/GetCustomer":             {Roles: customers, Customer: "customer_id", Scoped: true},
	"/meterplane.subscription.v1.SubscriptionService/ListCustomers":           {Roles: customers, Scoped: true},
	"/meterplane.subscription.v1.SubscriptionService/UpdateCustomer":          {},
	"/meterplane.subscription.v1.SubscriptionService/Subscribe":               {},
	"/meterplane.subscription.v1.SubscriptionService/GetSubscription":         {Roles: customers, Scoped: true},
	"/meterplane.subscription.v1.SubscriptionService/ListSubscriptions":       {Roles: customers, Customer: "customer_id", Scoped: true},
	"/meterplane.subscription.v1.SubscriptionService/ChangePlan":              {},
	"/meterplane.subscription.v1.SubscriptionService/ChangeQuantity":          {},
	"/meterplane.subscription.v1.SubscriptionService/CancelSubscription":      {},
	"/meterplane.subscription.v1.SubscriptionService/ReactivateSubscription":  {},
	"/meterplane.subscription.v1.SubscriptionService/ListScheduledChanges":    {Roles: customers, Scoped: true},
	"/meterplane.subscription.v1.SubscriptionService/ListSubscriptionChanges": {Roles: customers, Scoped: true},
	"/meterplane.subscription.v1.SubscriptionService/CancelScheduledChange":   {},
	"/meterplane.subscription.v1.SubscriptionService/ListSegments":            {Roles: customers, Customer: "customer_id"},
	"/meterplane.subscription.v1.SubscriptionService/GetEntitlements":         {Roles: customers, Customer: "customer_id"},
	"/meterplane.subscription.v1.SubscriptionService/GetBillingPeriod":        {Roles: customers, Customer: "customer_id"},
	"/meterplane.subscription.v1.SubscriptionService/ListDuePeriods":          {},
	"/meterplane.subscription.v1.SubscriptionService/BatchGetBillingData":     {},
	"/meterplane.subscription.v1.SubscriptionService/CreateApiKey":            {Keys: true},
	"/meterplane.subscription.v1.SubscriptionService/ListApiKeys":             {Keys: true},
	"/meterplane.subscription.v1.SubscriptionService/ExpireApiKey":            {Keys: true},
	"/meterplane.subscription.v1.SubscriptionService/RevokeApiKey":            {Keys: true},
	"/meterplane.subscription.v1.SubscriptionService/VerifyApiKey":            {},

	// Metering: collectors and provisioners ingest; customers read their
	// usage.
	"/meterplane.metering.v1.MeteringService/CreateMeter":             {},
	"/meterplane.metering.v1.MeteringService/GetMeter":                {Roles: provisioner},
	"/meterplane.metering.v1.MeteringService/ListMeters":              {Roles: provisioner},
	"/meterplane.metering.v1.MeteringService/Ingest":                  {Roles: ingest},
	"/meterplane.metering.v1.MeteringService/IngestBatch":             {Roles: ingest},
	"/meterplane.metering.v1.MeteringService/IngestStream":            {Roles: ingest},
	"/meterplane.metering.v1.MeteringService/QueryUsage":              {Roles: customers, Customer: "customer_id"},
	"/meterplane.metering.v1.MeteringService/BatchQueryUsage":         {},
	"/meterplane.metering.v1.MeteringService/ExportReport":            {Roles: customers, Customer: "customer_id"},
	"/meterplane.metering.v1.MeteringService/ExportUsageReportStream": {Roles: provisioner},
	"/meterplane.metering.v1.MeteringService/ImportReport":            {Roles: ingest},
	"/meterplane.metering.v1.MeteringService/ImportUsageReportStream": {Roles: ingest},
	"/meterplane.metering.v1.MeteringService/MarkComplete":            {Roles: ingest},
	"/meterplane.metering.v1.MeteringService/GetCompleteness":         {Roles: ingest},
	"/meterplane.metering.v1.MeteringService/ClosePeriod":             {},
	"/meterplane.metering.v1.MeteringService/BatchClosePeriod":        {},
	"/meterplane.metering.v1.MeteringService/ListQuarantinedBatches":  {},

	// Quota: provisioners call it; customers read their status.
	"/meterplane.quota.v1.QuotaService/CheckQuota":      {Roles: customers, Customer: "customer_id"},
	"/meterplane.quota.v1.QuotaService/Reserve":         {Roles: provisioner},
	"/meterplane.quota.v1.QuotaService/Commit":          {Roles: provisioner},
	"/meterplane.quota.v1.QuotaService/Release":         {Roles: provisioner},
	"/meterplane.quota.v1.QuotaService/GetQuotaStatus":  {Roles: customers, Customer: "customer_id"},
	"/meterplane.quota.v1.QuotaService/SetOverride":     {},
	"/meterplane.quota.v1.QuotaService/ListOverrides":   {Roles: customers, Customer: "customer_id"},
	"/meterplane.quota.v1.QuotaService/DeleteOverride":  {},
	"/meterplane.quota.v1.QuotaService/Deallocate":      {Roles: provisioner},
	"/meterplane.quota.v1.QuotaService/ListAllocations": {Roles: customers, Customer: "customer_id"},
	"/meterplane.quota.v1.QuotaService/Rebuild":         {},

	// Invoice: admins bill; customers read their invoices.
	"/meterplane.invoice.v1.InvoiceService/RunBilling":         {},
	"/meterplane.invoice.v1.InvoiceService/GetBillingRun":      {},
	"/meterplane.invoice.v1.InvoiceService/ListBillingRuns":    {},
	"/meterplane.invoice.v1.InvoiceService/GetInvoice":         {Roles: own, Scoped: true},
	"/meterplane.invoice.v1.InvoiceService/ListInvoices":       {Roles: own, Customer: "customer_id", Scoped: true},
	"/meterplane.invoice.v1.InvoiceService/FinalizeInvoice":    {},
	"/meterplane.invoice.v1.InvoiceService/VoidInvoice":        {},
	"/meterplane.invoice.v1.InvoiceService/MarkInvoicePaid":    {},
	"/meterplane.invoice.v1.InvoiceService/IssueCreditNote":    {},
	"/meterplane.invoice.v1.InvoiceService/ListCreditNotes":    {Roles: own, Scoped: true},
	"/meterplane.invoice.v1.InvoiceService/PreviewInvoice":     {Roles: own, Customer: "customer_id"},
	"/meterplane.invoice.v1.InvoiceService/GetResellerSummary": {Roles: own, Customer: "customer_id"},
	"/meterplane.invoice.v1.InvoiceService/GetInvoiceDocument": {Roles: own, Scoped: true},
}

// Open are the methods any caller may call without a key: health checks,
// and reflection, so that grpcurl can list and describe the API (calling
// it still needs a key).
var Open = map[string]bool{
	"/grpc.health.v1.Health/Check":                                   true,
	"/grpc.health.v1.Health/Watch":                                   true,
	"/grpc.health.v1.Health/List":                                    true,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
}
