// Package subscription is the subscription service's domain: customers,
// their subscriptions, the history of each subscription as segments, billing
// periods and entitlements.
package subscription
