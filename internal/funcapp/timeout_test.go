package funcapp

import (
	"testing"
	"time"
)

func TestFunctionTimeout(t *testing.T) {
	hostJSON := &HostConfig{FunctionTimeout: 7 * time.Minute}
	for _, c := range []struct {
		name string
		cfg  *HostConfig
		env  map[string]string
		want time.Duration
		err  bool
	}{
		{"dedicated default", nil, nil, DefaultFunctionTimeout, false},
		{"windows consumption", nil, map[string]string{"WEBSITE_SKU": "Dynamic"}, ConsumptionFunctionTimeout, false},
		{"windows consumption, any case", nil, map[string]string{"WEBSITE_SKU": "dynamic"}, ConsumptionFunctionTimeout, false},
		{"linux consumption", nil, map[string]string{"CONTAINER_NAME": "c1"}, ConsumptionFunctionTimeout, false},
		{"linux dedicated (app service)", nil, map[string]string{"CONTAINER_NAME": "c1", "WEBSITE_INSTANCE_ID": "i"}, DefaultFunctionTimeout, false},
		{"flex consumption", nil, map[string]string{"WEBSITE_SKU": "FlexConsumption", "CONTAINER_NAME": "c1"}, DefaultFunctionTimeout, false},
		{"host.json wins over the plan", hostJSON, map[string]string{"WEBSITE_SKU": "Dynamic"}, 7 * time.Minute, false},
		{"app setting wins over host.json", hostJSON, map[string]string{FunctionTimeoutSetting: "00:01:30"}, 90 * time.Second, false},
		{"app setting -1", hostJSON, map[string]string{FunctionTimeoutSetting: "-1"}, NoTimeout, false},
		{"host.json -1", &HostConfig{FunctionTimeout: NoTimeout}, nil, NoTimeout, false},
		{"bad app setting", nil, map[string]string{FunctionTimeoutSetting: "soon"}, 0, true},
	} {
		got, err := FunctionTimeout(c.cfg, func(k string) string { return c.env[k] })
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%s: %v, %v; want %v (error %v)", c.name, got, err, c.want, c.err)
		}
	}
}
