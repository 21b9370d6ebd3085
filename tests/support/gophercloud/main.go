// oid-images: a non-Python OpenStack client, gophercloud as Debian packages it
// (golang-github-gophercloud-gophercloud-dev), listing images. It knows nothing
// of oid: it reads the usual OS_* variables and, like Terraform's
// endpoint_overrides, an optional image endpoint to use instead of the catalog's.
// tests/overlay/test_cli.py builds it and gives it an entry interposer's URL with
// a scope in its path (docs/cli.md).
//
//	OS_AUTH_URL=http://berlin:8790/scope/glance:Denver/identity/v3 ... oid-images
//	OID_IMAGE_ENDPOINT=http://berlin:8790/scope/glance:Denver/image/ oid-images
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/gophercloud/gophercloud"
	"github.com/gophercloud/gophercloud/openstack"
	"github.com/gophercloud/gophercloud/openstack/imageservice/v2/images"
)

type listed struct {
	Endpoint string              `json:"endpoint"`
	Images   []map[string]string `json:"images"`
}

func main() {
	options, err := openstack.AuthOptionsFromEnv()
	check("reading OS_* variables", err)
	provider, err := openstack.AuthenticatedClient(options)
	check("authenticating", err)
	client, err := openstack.NewImageServiceV2(provider, gophercloud.EndpointOpts{
		Region:       os.Getenv("OS_REGION_NAME"),
		Availability: gophercloud.AvailabilityPublic,
	})
	check("finding the image endpoint", err)
	if override := os.Getenv("OID_IMAGE_ENDPOINT"); override != "" {
		client.Endpoint = gophercloud.NormalizeURL(override)
		client.ResourceBase = client.Endpoint + "v2/"
	}
	pages, err := images.List(client, images.ListOpts{}).AllPages()
	check("listing images", err)
	found, err := images.ExtractImages(pages)
	check("reading the image list", err)
	out := listed{Endpoint: client.Endpoint, Images: []map[string]string{}}
	for _, image := range found {
		out.Images = append(out.Images, map[string]string{"id": image.ID, "name": image.Name})
	}
	check("writing the list", json.NewEncoder(os.Stdout).Encode(out))
}

func check(what string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "oid-images: %s: %v\n", what, err)
		os.Exit(1)
	}
}
