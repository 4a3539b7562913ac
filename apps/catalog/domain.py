"""Pure catalog rules: building, changing and counting products."""

from collections.abc import Iterable
from datetime import datetime

from apps.contracts.cart import LineSnapshot
from apps.contracts.catalog import Product, ProductCreate, ProductStatus, ProductUpdate
from apps.contracts.errors import Conflict, InvalidRequest
from apps.contracts.orders import OrderLine

PS = ProductStatus

#: Archived products can be restored to active; nothing goes back to draft once published.
STATUS_TRANSITIONS: dict[ProductStatus, frozenset[ProductStatus]] = {
    PS.DRAFT: frozenset({PS.DRAFT, PS.ACTIVE, PS.ARCHIVED}),
    PS.ACTIVE: frozenset({PS.ACTIVE, PS.ARCHIVED}),
    PS.ARCHIVED: frozenset({PS.ARCHIVED, PS.ACTIVE}),
}


def validate_variants(product: Product | ProductCreate) -> None:
    ids = [v.variant_id for v in product.variants]
    skus = [v.sku for v in product.variants]
    if len(set(ids)) != len(ids) or len(set(skus)) != len(skus):
        raise InvalidRequest("Variant ids and SKUs must be unique within a product")
    base = product.price.amount
    for v in product.variants:
        if base + v.price_adjustment < 0:
            raise InvalidRequest(
                "A variant's price (price + adjustment) cannot be negative",
                variant_id=v.variant_id,
            )


def new_product(cmd: ProductCreate, product_id: str, now: datetime) -> Product:
    validate_variants(cmd)
    fields = cmd.model_dump(exclude={"product_id"})
    return Product(
        **fields,
        product_id=product_id,
        created_at=now,
        updated_at=now,
        published_at=now if cmd.status == PS.ACTIVE else None,
    )


def same_content(existing: Product, cmd: ProductCreate) -> bool:
    """Is `cmd` a retry of the create that made `existing`?"""
    mine = existing.model_dump(include=set(type(cmd).model_fields) - {"product_id"})
    return mine == cmd.model_dump(exclude={"product_id"})


def apply_update(
    product: Product, update: ProductUpdate, now: datetime
) -> tuple[Product, list[str]]:
    changes = update.model_dump(exclude_unset=True)
    if "status" in changes and changes["status"] not in STATUS_TRANSITIONS[product.status]:
        raise Conflict(
            f"A {product.status} product cannot become {changes['status']}",
            current_status=product.status,
        )
    data = product.model_dump()
    for key, value in changes.items():
        nested = hasattr(getattr(update, key), "model_fields")  # a model, not a map or list
        if nested and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}  # price, seo: only the fields sent change
        else:
            data[key] = value  # lists and free-form maps are replaced as sent
    changed = sorted(k for k in changes if data[k] != product.model_dump()[k])
    data["updated_at"] = now
    if data["status"] == PS.ACTIVE and product.published_at is None:
        data["published_at"] = now
    updated = Product.model_validate(data)
    validate_variants(updated)
    return updated, changed


def ensure_deletable(product: Product) -> None:
    """Only drafts are deleted; a product shoppers may have seen is archived instead."""
    if product.status != PS.DRAFT:
        raise Conflict(
            "Only draft products can be deleted; archive it instead",
            current_status=product.status,
        )


def count_purchases(product: Product, lines: Iterable[OrderLine]) -> Product:
    bought = sum(line.quantity for line in lines if line.product_id == product.product_id)
    analytics = product.analytics.model_copy(
        update={"purchases": product.analytics.purchases + bought}
    )
    return product.model_copy(update={"analytics": analytics})


def check_parent(slug: str, parent: str | None, parents: dict[str, str | None]) -> None:
    """`parents` maps every existing category to its parent. The new parent must exist and
    must not be the category itself or one of its descendants (no cycles)."""
    if parent is None:
        return
    if parent not in parents:
        raise InvalidRequest("Unknown parent category", parent_slug=parent)
    current: str | None = parent
    while current is not None:
        if current == slug:
            raise Conflict("A category cannot sit under itself or its descendants", slug=slug)
        current = parents.get(current)


def require_if_match(what: str, if_match: str | None) -> str:
    """Changes name the version they were based on; none named is a bad request."""
    if not if_match:
        raise InvalidRequest(f"If-Match header with the {what}'s ETag is required")
    return if_match


def ensure_current(what: str, etag: str, if_match: str) -> None:
    if etag != if_match:
        raise Conflict(f"The {what} changed since you read it", etag=etag)


def line_snapshot(product_id: str, variant_id: str | None, product: Product | None) -> LineSnapshot:
    """Catalog's view of one product variant for a cart line (price with the variant's
    adjustment, sale status); the first variant by default. Stock is added by the caller."""
    if product is None:  # no variant id: the product itself is unknown
        return LineSnapshot(product_id=product_id, variant_id=None, found=False)
    variant = next(
        (v for v in product.variants if variant_id is None or v.variant_id == variant_id), None
    )
    if variant is None:
        return LineSnapshot(product_id=product_id, variant_id=variant_id, found=False)
    return LineSnapshot(
        product_id=product_id,
        variant_id=variant.variant_id,
        found=True,
        active=product.status == PS.ACTIVE,
        sku=variant.sku,
        name=product.name,
        variant_name=" / ".join(str(v) for v in variant.attributes.values()),
        unit_price=product.price.amount + variant.price_adjustment,
        currency=product.price.currency,
        tax_rate=product.price.tax_rate,
        image_url=str(product.images[0].url) if product.images else None,
    )
