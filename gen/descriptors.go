// Package gen holds the code generated from proto/ and, in
// descriptors.binpb, the descriptors of every Meterplane proto file with
// their comments, which server reflection serves so that `grpcurl describe`
// documents every field.
package gen

import (
	_ "embed"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

//go:embed descriptors.binpb
var descriptors []byte

// Files returns the descriptors of every proto file, with source comments.
func Files() (*protoregistry.Files, error) {
	var set descriptorpb.FileDescriptorSet
	if err := proto.Unmarshal(descriptors, &set); err != nil {
		return nil, err
	}
	return protodesc.NewFiles(&set)
}
