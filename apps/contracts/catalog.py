"""Catalog wire models (seed 004 "Products Container") and catalog events."""

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from apps.contracts.events import EventPayload
from apps.contracts.money import Price, decimal_text
from apps.contracts.names import Topic
from apps.contracts.schema import StrippedInput, left_out_if_unchanged

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Slug = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")]
Text = Annotated[str, Field(max_length=500)]
Attributes = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=60)], Annotated[str, Field(max_length=200)]],
    Field(max_length=50),
]
SignedAmount = Annotated[
    Decimal,
    Field(max_digits=14, decimal_places=2),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    decimal_text(12, 2, "an amount of money, may be negative", signed=True),
]


class ProductStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variant_id: Id
    sku: Sku
    attributes: Attributes = Field(default_factory=dict)
    price_adjustment: SignedAmount = Decimal("0.00")
    stock: int = Field(default=0, ge=0, le=10_000_000)


class ProductImage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    alt: Text = ""
    order: int = Field(default=1, ge=0, le=1000)


class Seo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    meta_title: Annotated[str, Field(max_length=200)] = ""
    meta_description: Annotated[str, Field(max_length=500)] = ""
    canonical_url: Annotated[str, Field(max_length=300)] = ""


class ProductAnalytics(BaseModel):
    views: int = 0
    add_to_cart: int = 0
    purchases: int = 0


class ProductFields(BaseModel):
    """What staff may set on a product."""

    model_config = ConfigDict(extra="forbid")

    category_slug: Slug
    sku: Sku
    name: Annotated[str, Field(min_length=1, max_length=200)]
    slug: Slug
    description: Annotated[str, Field(max_length=2000)] = ""
    long_description: Annotated[str, Field(max_length=20000)] = ""
    brand: Annotated[str, Field(max_length=100)] = ""
    price: Price
    images: Annotated[list[ProductImage], Field(max_length=30)] = Field(default_factory=list)
    variants: Annotated[list[Variant], Field(min_length=1, max_length=200)]
    attributes: Attributes = Field(default_factory=dict)
    seo: Seo = Field(default_factory=Seo)
    status: ProductStatus = ProductStatus.DRAFT


class ProductCreate(ProductFields):
    """`product_id` may be chosen by the caller, which makes a retried create idempotent."""

    product_id: Id | None = None


class ProductUpdate(BaseModel):
    """A partial update: only the fields present change."""

    model_config = ConfigDict(extra="forbid")

    category_slug: Slug | None = None
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    slug: Slug | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    long_description: Annotated[str, Field(max_length=20000)] | None = None
    brand: Annotated[str, Field(max_length=100)] | None = None
    price: Price | None = None
    images: Annotated[list[ProductImage], Field(max_length=30)] | None = None
    variants: Annotated[list[Variant], Field(min_length=1, max_length=200)] | None = None
    attributes: Attributes | None = None
    seo: Seo | None = None
    status: ProductStatus | None = None


class Product(ProductFields):
    product_id: Id
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    analytics: ProductAnalytics = Field(default_factory=ProductAnalytics)


class ProductCreated(EventPayload):
    TOPIC = Topic.PRODUCT_EVENTS
    product: Product


class ProductUpdated(EventPayload):
    TOPIC = Topic.PRODUCT_EVENTS
    product: Product
    changed_fields: list[str]


class ProductArchived(EventPayload):
    TOPIC = Topic.PRODUCT_EVENTS
    product_id: str


class ProductDeleted(EventPayload):
    TOPIC = Topic.PRODUCT_EVENTS
    product_id: str


class Category(BaseModel):
    """A node of the category tree; `parent_slug` None for a department."""

    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Annotated[str, Field(min_length=1, max_length=120)]
    parent_slug: Slug | None = None
    description: Annotated[str, Field(max_length=2000)] = ""
    sort_order: int = Field(default=0, ge=0, le=100_000)


class CategoryUpdate(BaseModel):
    """A partial change of a category (its slug is its identity and does not change)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    parent_slug: Slug | None = None
    description: Annotated[str, Field(max_length=2000)] | None = None
    sort_order: int | None = Field(default=None, ge=0, le=100_000)


class CategoryChanged(EventPayload):
    TOPIC = Topic.PRODUCT_EVENTS
    category: Category


class SeedBatch(BaseModel):
    """Bulk load of generated data into an empty catalog (`task seed`)."""

    model_config = ConfigDict(extra="forbid")

    categories: Annotated[list[Category], Field(max_length=1000)] = Field(default_factory=list)
    products: Annotated[list[Product], Field(max_length=1000)] = Field(default_factory=list)


class SortField(StrEnum):
    PRICE = "price"
    NAME = "name"
    NEWEST = "newest"
    POPULARITY = "popularity"
    RATING = "rating"
    RELEVANCE = "relevance"


FILTER_PRICE = WithJsonSchema({"type": "number", "minimum": 0, "maximum": 10_000_000})


class ListFilters(BaseModel):
    """The `filters` JSON of `GET /api/products` and `/search` (seed 004 vocabulary)."""

    model_config = ConfigDict(extra="forbid")

    # Bounded so that any filter the schema allows fits in a URL (escaped, < 32 KB).
    brand: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=10)] = Field(
        default_factory=list
    )
    price_min: Annotated[Decimal, Field(ge=0, le=10_000_000), FILTER_PRICE] | None = None
    price_max: Annotated[Decimal, Field(ge=0, le=10_000_000), FILTER_PRICE] | None = None
    in_stock: bool | None = None
    rating_min: (
        Annotated[
            Decimal,
            Field(ge=0, le=5),
            WithJsonSchema({"type": "number", "minimum": 0, "maximum": 5}),
        ]
        | None
    ) = None
    attributes: Annotated[
        dict[
            Annotated[str, Field(max_length=30)],
            Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=5)],
        ],
        Field(max_length=5),
    ] = Field(default_factory=dict)


class ProductSummary(BaseModel):
    product_id: str
    name: str
    slug: str
    brand: str
    category_slug: str
    price: Price
    image: ProductImage | None
    rating: Decimal = Decimal("0")
    review_count: int = 0
    available: int
    in_stock: bool


class ProductPage(BaseModel):
    items: list[ProductSummary]
    total: int
    page: int
    limit: int


class FacetValue(BaseModel):
    value: str
    count: int


class Facets(BaseModel):
    total: int
    categories: list[FacetValue]
    brands: list[FacetValue]
    price_ranges: list[FacetValue]
    in_stock: list[FacetValue]
    attributes: dict[str, list[FacetValue]]


# -- reviews ---------------------------------------------------------------------------------
class ReviewStatus(StrEnum):
    PENDING = "pending"
    PUBLISHED = "published"
    REJECTED = "rejected"


Rating = Annotated[int, Field(ge=1, le=5)]
ReviewTitle = Annotated[str, Field(min_length=1, max_length=120)]
ReviewBody = Annotated[str, Field(min_length=1, max_length=5000)]


class ReviewRequest(StrippedInput):
    """`POST /api/products/{id}/reviews`: what the shopper writes."""

    rating: Rating
    title: ReviewTitle
    body: ReviewBody


class ReviewCreate(ReviewRequest):
    """A customer's review; `user_id` comes from the gateway's verified identity."""

    user_id: Id


class ReviewEditRequest(StrippedInput):
    """`PUT /api/reviews/{id}`: the author's changes (back to moderation). A field left out
    stays as it is; none may be null (a review always has a rating, title and body)."""

    rating: Rating | None = Field(default=None, json_schema_extra=left_out_if_unchanged)
    title: ReviewTitle | None = Field(default=None, json_schema_extra=left_out_if_unchanged)
    body: ReviewBody | None = Field(default=None, json_schema_extra=left_out_if_unchanged)

    @field_validator("rating", "title", "body", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out, but not null")
        return value


class ReviewEdit(ReviewEditRequest):
    user_id: Id


class Moderation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ReviewStatus
    note: Annotated[str, Field(max_length=500)] = ""


class Review(BaseModel):
    review_id: str
    product_id: str
    user_id: str
    rating: Rating
    title: str
    body: str
    status: ReviewStatus
    verified_purchase: bool = False
    moderation_note: str = ""
    created_at: datetime
    updated_at: datetime


class RatingSummary(BaseModel):
    """Aggregates over published reviews only."""

    count: int = 0
    total: int = 0
    histogram: dict[str, int] = Field(default_factory=lambda: {str(i): 0 for i in range(1, 6)})

    @property
    def average(self) -> Decimal:
        return (
            (Decimal(self.total) / self.count).quantize(Decimal("0.01"))
            if self.count
            else Decimal(0)
        )


class ReviewPage(BaseModel):
    items: list[Review]
    total: int
    page: int
    limit: int
    average: Decimal
    count: int
    histogram: dict[str, int]


class ReviewPublished(EventPayload):
    TOPIC = Topic.PRODUCT_EVENTS
    review: Review


#: Products one batch read may name (a checkout has at most 100 lines, a cart 200).
MAX_BATCH_PRODUCTS = 200


class ProductBatchRequest(BaseModel):
    """Several products by id in one call; repeated ids are answered once."""

    model_config = ConfigDict(extra="forbid")

    product_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_BATCH_PRODUCTS)]


class ProductBatch(BaseModel):
    """The products found among those asked for (any status); unknown ids are left out."""

    products: list[Product]
