// A Node.js service calling SmartCommerce the way another team's service would: through its
// own Dapr sidecar with the official JavaScript SDK (@dapr/dapr), no Python anywhere on this
// side. Run by tests/security/test_polyglot.py, which prepares the data and checks the replies
// against schemas/actors/.
//
//   DAPR_HTTP_PORT=... DAPR_GRPC_PORT=... DAPR_API_TOKEN=... node client.mjs \
//     '{"protocol": "http", "product_id": "...", "variant_id": "...", "cart_id": "guest-...",
//       "order_id": "..."}'
//
// `protocol` is the SDK's: "http" (its default) or "grpc" (Dapr's gRPC API).
//
// Prints one JSON document to stdout: {"product": ..., "cart_add_item": ..., "cart_get": ...,
// "order_get": ...}. The SDK's own logs go to stderr (error level only).
import {
  ActorId,
  ActorProxyBuilder,
  CommunicationProtocolEnum,
  DaprClient,
  HttpMethod,
  LogLevel,
} from "@dapr/dapr";

// The SDK's actor proxy takes the actor type from the class name and sends a method's
// arguments as a JSON array: `add_item(payload)` is `POST .../method/add_item` with
// `[payload]` (over gRPC: `InvokeActor` with the same JSON as data), `get()` has no body.
// These classes only name the types and their methods.
class CartActor {
  async get() {}
  async add_item(_payload) {}
}

class OrderActor {
  async get() {}
}

function input() {
  const raw = process.argv[2];
  if (!raw) {
    throw new Error(
      "usage: node client.mjs '<json: protocol, product_id, variant_id, cart_id, order_id>'",
    );
  }
  const args = JSON.parse(raw);
  for (const key of ["product_id", "variant_id", "cart_id", "order_id"]) {
    if (typeof args[key] !== "string" || !args[key]) throw new Error(`missing ${key}`);
  }
  if (!["http", "grpc"].includes(args.protocol)) throw new Error("protocol: http or grpc");
  return args;
}

async function main() {
  const args = input();
  const grpc = args.protocol === "grpc";
  const client = new DaprClient({
    daprHost: "127.0.0.1",
    daprPort: grpc ? process.env.DAPR_GRPC_PORT : process.env.DAPR_HTTP_PORT,
    communicationProtocol: grpc ? CommunicationProtocolEnum.GRPC : CommunicationProtocolEnum.HTTP,
    daprApiToken: process.env.DAPR_API_TOKEN,
    logger: { level: LogLevel.Error },
  });

  // (a) service invocation: catalog's internal route, reached through the sidecars.
  const product = await client.invoker.invoke(
    "catalog",
    `products/${encodeURIComponent(args.product_id)}`,
    HttpMethod.GET,
  );

  // (b) the SDK's actor proxy on a fresh cart: add a line, then read the cart back.
  const cart = new ActorProxyBuilder(CartActor, client).build(new ActorId(args.cart_id));
  const cartAddItem = await cart.add_item({
    product_id: args.product_id,
    variant_id: args.variant_id,
    quantity: 2,
    op_id: `polyglot-${args.cart_id}`,
  });
  const cartGet = await cart.get();

  // (c) an order the test created beforehand.
  const order = new ActorProxyBuilder(OrderActor, client).build(new ActorId(args.order_id));
  const orderGet = await order.get();

  return { product, cart_add_item: cartAddItem, cart_get: cartGet, order_get: orderGet };
}

try {
  const replies = await main();
  // Exit once stdout is flushed: the SDK's keep-alive agents would hold the process open.
  process.stdout.write(`${JSON.stringify(replies)}\n`, () => process.exit(0));
} catch (err) {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
}
