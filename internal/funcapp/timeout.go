package funcapp

import (
	"fmt"
	"strings"
	"time"
)

// Plan default function timeouts (the host's ScriptJobHostOptionsSetup:
// DefaultConsumptionFunctionTimeout and DefaultFunctionTimeout).
const (
	ConsumptionFunctionTimeout = 5 * time.Minute
	DefaultFunctionTimeout     = 30 * time.Minute
)

// FunctionTimeoutSetting is the app setting (an environment variable of the
// host and so of the worker) that overrides host.json's functionTimeout:
// the host reads its configuration section "AzureFunctionsJobHost" from the
// environment too, with "__" as the separator, after host.json.
const FunctionTimeoutSetting = "AzureFunctionsJobHost__functionTimeout"

// FunctionTimeout returns the functionTimeout the host enforces for the app,
// following the host's rules (ScriptJobHostOptionsSetup.ConfigureFunctionTimeout,
// docs/host-contract.md §2.17): the app setting FunctionTimeoutSetting when
// set, else host.json's value (cfg may be nil), else the plan's default —
// 5 minutes on a Consumption plan other than Flex Consumption, 30 minutes
// elsewhere. NoTimeout ("-1") means none. getenv reads the environment.
func FunctionTimeout(cfg *HostConfig, getenv func(string) string) (time.Duration, error) {
	if s := strings.TrimSpace(getenv(FunctionTimeoutSetting)); s != "" {
		if s == "-1" {
			return NoTimeout, nil
		}
		d, err := ParseTimeSpan(s)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("app setting %s=%q is not a positive hh:mm:ss time span or -1", FunctionTimeoutSetting, s)
		}
		return d, nil
	}
	if cfg != nil && cfg.FunctionTimeout != 0 {
		return cfg.FunctionTimeout, nil
	}
	if IsConsumptionPlan(getenv) {
		return ConsumptionFunctionTimeout, nil
	}
	return DefaultFunctionTimeout, nil
}

// IsConsumptionPlan reports whether the environment is that of a
// Consumption plan whose default function timeout is 5 minutes, as the host
// decides it (EnvironmentExtensions.IsConsumptionSku without
// IsFlexConsumptionSku): Windows Consumption (WEBSITE_SKU "Dynamic") or
// Linux Consumption (CONTAINER_NAME set outside App Service, that is without
// WEBSITE_INSTANCE_ID). Flex Consumption (WEBSITE_SKU "FlexConsumption")
// keeps the 30-minute default.
func IsConsumptionPlan(getenv func(string) string) bool {
	sku := getenv("WEBSITE_SKU")
	switch {
	case strings.EqualFold(sku, "FlexConsumption"):
		return false
	case strings.EqualFold(sku, "Dynamic"):
		return true
	}
	return getenv("CONTAINER_NAME") != "" && getenv("WEBSITE_INSTANCE_ID") == ""
}
