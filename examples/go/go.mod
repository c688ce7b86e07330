module github.com/vecstore/vecstore/examples/go

go 1.21

require (
	google.golang.org/grpc v1.60.0
	google.golang.org/protobuf v1.32.0
)
