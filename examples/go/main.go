// VecStore gRPC client example (Go). Generate the stubs first (README.md), then:
//
//	go run . -addr localhost:50051
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/vecstore/vecstore/examples/go/vecstorepb"
)

func main() {
	addr := flag.String("addr", "localhost:50051", "server address")
	apiKey := flag.String("api-key", "", "API key (sent as authorization: Bearer <key>)")
	flag.Parse()

	conn, err := grpc.Dial(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	client := pb.NewVecStoreServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if *apiKey != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*apiKey)
	}

	_, err = client.Upsert(ctx, &pb.UpsertRequest{
		Id:     "doc1",
		Vector: []float32{0.1, 0.2, 0.9},
		Metadata: map[string]*pb.MetadataValue{
			"title": {Kind: &pb.MetadataValue_StringValue{StringValue: "Hello"}},
		},
	})
	if err != nil {
		log.Fatalf("upsert: %v", err)
	}

	res, err := client.Query(ctx, &pb.QueryRequest{Vector: []float32{0.15, 0.25, 0.85}, Limit: 10})
	if err != nil {
		log.Fatalf("query: %v", err)
	}
	for _, r := range res.Results {
		fmt.Printf("%s: %v\n", r.Id, r.Score)
	}

	stream, err := client.QueryStream(ctx, &pb.QueryStreamRequest{Vector: []float32{0.15, 0.25, 0.85}, Limit: 10})
	if err != nil {
		log.Fatalf("query stream: %v", err)
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			break // io.EOF after the `complete` message
		}
		if m.Complete {
			fmt.Printf("complete: %d results\n", m.Stats.Count)
		} else {
			fmt.Printf("rank %d %s %v\n", m.Rank, m.Result.Id, m.Result.Score)
		}
	}
}
