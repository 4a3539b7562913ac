"""Actor types shared by apps (hosted by `cart` and `orders`)."""
