package heedgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"github.com/heedhq/heed"
	"github.com/heedhq/heed/heedgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
)

// A gRPC client whose calls of grpc.health.v1.Health go at most 10 a
// second per credential, cool down when the server says to wait, and are
// refused by heed with a RetryInfo when the wait is too long.
func ExampleNew() {
	lis, err := net.Listen("tcp", "127.0.0.1:0") // the API: grpc's health service
	if err != nil {
		log.Fatal(err)
	}
	srv := grpc.NewServer()
	grpc_health_v1.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()

	ic, err := heedgrpc.New(heed.Config{Upstreams: []heed.Upstream{{
		Name:    "health",
		BaseURL: "grpc://" + lis.Addr().String() + "/grpc.health.v1.Health/",
		Limits:  []heed.Limit{{Requests: 10, Per: time.Second}},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	defer ic.Close()
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(ic.Unary()),
		grpc.WithStreamInterceptor(ic.Stream()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()

	// The credential, which keys the scope, travels in the metadata.
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer my-token")
	resp, err := grpc_health_v1.NewHealthClient(conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{})
	var refusal *heed.Refusal
	switch {
	case errors.As(err, &refusal): // heed's own answer: nothing was sent
		fmt.Println("refused by heed; retry in", refusal.Wait)
	case err != nil:
		fmt.Println("the API said:", err)
	default:
		fmt.Println(resp.GetStatus())
	}
	// Output: SERVING
}
