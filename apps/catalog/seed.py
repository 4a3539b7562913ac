"""Deterministic catalog generator (`task seed`): a believable shop from a fixed seed.

Eight departments of six categories each (48 leaves + 8 departments = 56 categories), each
leaf with its own brands, product nouns, attributes and price band. Prices are log-normal
inside the band; about 20 % of products are on sale (`compare_at`), ~8 % of variants are out
of stock, ~3 % of products are drafts and ~2 % archived. The same (count, seed) always gives
the same catalog, byte for byte; nothing depends on the clock (dates count from EPOCH).
"""

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from apps.contracts.catalog import Category, Product, ProductStatus
from apps.contracts.money import quantize

DEFAULT_SEED = 20261123
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Leaf:
    slug: str
    name: str
    nouns: tuple[str, ...]
    brands: tuple[str, ...]
    attributes: dict[str, tuple[str, ...]]
    price: tuple[int, int]


def _leaf(slug: str, nouns: str, brands: str, price: tuple[int, int], **attrs: str) -> Leaf:
    return Leaf(
        slug,
        slug.split("-", 1)[1].replace("-", " ").title(),
        tuple(nouns.split(",")),
        tuple(brands.split(",")),
        {k: tuple(v.split(",")) for k, v in attrs.items()},
        price,
    )


DEPARTMENTS: dict[str, tuple[str, Decimal, list[Leaf]]] = {
    "electronics": (
        "Electronics",
        Decimal("0.0825"),
        [
            _leaf(
                "electronics-laptops",
                "Laptop,Notebook,Ultrabook",
                "Aurora,Vertex,Lumen,Novatek",
                (450, 3200),
                color="Silver,Space Gray,Black",
                storage="256GB,512GB,1TB",
            ),
            _leaf(
                "electronics-phones",
                "Phone,Smartphone",
                "Vertex,Pixelon,Orbit,Lumen",
                (180, 1500),
                color="Black,White,Blue,Green",
                storage="128GB,256GB,512GB",
            ),
            _leaf(
                "electronics-headphones",
                "Headphones,Earbuds,Headset",
                "Sonora,Bassline,Auralis",
                (25, 450),
                color="Black,White,Navy",
            ),
            _leaf(
                "electronics-tablets",
                "Tablet,Slate",
                "Aurora,Pixelon,Orbit",
                (120, 1300),
                color="Silver,Gray",
                storage="64GB,128GB,256GB",
            ),
            _leaf(
                "electronics-cameras",
                "Camera,Action Cam,Mirrorless Camera",
                "Optix,Lumen,Fotara",
                (90, 2600),
                color="Black,Silver",
            ),
            _leaf(
                "electronics-monitors",
                "Monitor,Display",
                "Vertex,Novatek,Clarion",
                (110, 1400),
                size='24",27",32"',
            ),
        ],
    ),
    "home": (
        "Home & Kitchen",
        Decimal("0.0725"),
        [
            _leaf(
                "home-cookware",
                "Skillet,Saucepan,Dutch Oven,Wok",
                "Ferro,Culina,Hearthstone",
                (18, 320),
                material="Cast Iron,Stainless Steel,Nonstick",
            ),
            _leaf(
                "home-coffee",
                "Coffee Maker,Espresso Machine,Grinder,Kettle",
                "Brewista,Culina,Mokka",
                (20, 900),
                color="Black,Steel,Cream",
            ),
            _leaf(
                "home-bedding",
                "Duvet,Sheet Set,Pillow,Blanket",
                "Dreamwell,Linara,Cozy Co",
                (15, 400),
                size="Twin,Queen,King",
                color="White,Sand,Slate",
            ),
            _leaf(
                "home-furniture",
                "Desk,Bookshelf,Armchair,Side Table",
                "Nordhaus,Oakline,Arbor",
                (60, 1800),
                material="Oak,Walnut,Pine",
            ),
            _leaf(
                "home-lighting",
                "Floor Lamp,Desk Lamp,Pendant",
                "Lumen,Arbor,Glowell",
                (15, 380),
                color="Black,Brass,White",
            ),
            _leaf(
                "home-storage",
                "Storage Box,Basket,Organizer",
                "Tidy,Nordhaus,Stackit",
                (8, 120),
                color="Gray,Natural,White",
            ),
        ],
    ),
    "fashion": (
        "Fashion",
        Decimal("0.06"),
        [
            _leaf(
                "fashion-mens-shirts",
                "Oxford Shirt,Polo,T-Shirt,Flannel Shirt",
                "Northwind,Harbor,Cobalt",
                (12, 140),
                size="S,M,L,XL",
                color="White,Navy,Olive,Black",
            ),
            _leaf(
                "fashion-womens-dresses",
                "Wrap Dress,Midi Dress,Shirt Dress",
                "Luna,Harbor,Velvet Row",
                (25, 260),
                size="XS,S,M,L",
                color="Black,Red,Floral,Navy",
            ),
            _leaf(
                "fashion-shoes",
                "Sneaker,Boot,Loafer,Sandal",
                "Stride,Northwind,Peak",
                (30, 300),
                size="7,8,9,10,11",
                color="Black,White,Brown",
            ),
            _leaf(
                "fashion-jackets",
                "Rain Jacket,Puffer,Denim Jacket,Blazer",
                "Peak,Northwind,Cobalt",
                (40, 480),
                size="S,M,L,XL",
                color="Black,Khaki,Navy",
            ),
            _leaf(
                "fashion-bags",
                "Backpack,Tote,Crossbody Bag,Duffel",
                "Carryall,Velvet Row,Peak",
                (20, 350),
                color="Black,Tan,Olive",
            ),
            _leaf(
                "fashion-accessories",
                "Scarf,Belt,Beanie,Wallet",
                "Harbor,Cobalt,Luna",
                (8, 120),
                color="Black,Brown,Gray",
            ),
        ],
    ),
    "sports": (
        "Sports & Outdoors",
        Decimal("0.07"),
        [
            _leaf(
                "sports-running",
                "Running Shoe,Running Vest,Hydration Belt",
                "Stride,Peak,Velox",
                (15, 220),
                size="7,8,9,10,11",
                color="Black,Blue,Neon",
            ),
            _leaf(
                "sports-camping",
                "Tent,Sleeping Bag,Camp Stove,Lantern",
                "Trailhead,Peak,Summit",
                (20, 600),
                capacity="1P,2P,4P",
            ),
            _leaf(
                "sports-cycling",
                "Bike Helmet,Bike Light,Cycling Jersey",
                "Velox,Spoke,Summit",
                (15, 300),
                size="S,M,L",
                color="Black,Red,White",
            ),
            _leaf(
                "sports-fitness",
                "Dumbbell Set,Yoga Mat,Kettlebell,Resistance Band",
                "Forge,Zenfit,Ironline",
                (10, 500),
                weight="5kg,10kg,20kg",
            ),
            _leaf(
                "sports-swimming",
                "Swim Goggles,Swimsuit,Swim Cap",
                "Aqualine,Velox",
                (8, 120),
                size="S,M,L",
                color="Black,Blue",
            ),
            _leaf(
                "sports-team",
                "Soccer Ball,Basketball,Volleyball",
                "Goalpost,Forge,Summit",
                (12, 90),
                size="4,5",
            ),
        ],
    ),
    "beauty": (
        "Beauty",
        Decimal("0.0825"),
        [
            _leaf(
                "beauty-skincare",
                "Moisturizer,Serum,Cleanser,Sunscreen",
                "Verdant,Lumiere,Pure Leaf",
                (8, 140),
                size="30ml,50ml,100ml",
            ),
            _leaf(
                "beauty-haircare",
                "Shampoo,Conditioner,Hair Oil",
                "Verdant,Silkwave,Pure Leaf",
                (6, 70),
                size="250ml,500ml",
            ),
            _leaf(
                "beauty-makeup",
                "Lipstick,Mascara,Foundation,Palette",
                "Lumiere,Rouge Co,Velvet Row",
                (7, 90),
                shade="Light,Medium,Deep",
            ),
            _leaf(
                "beauty-fragrance",
                "Eau de Parfum,Cologne,Body Mist",
                "Lumiere,Amberly,Rouge Co",
                (20, 240),
                size="30ml,50ml,100ml",
            ),
            _leaf(
                "beauty-tools",
                "Hair Dryer,Straightener,Brush Set",
                "Silkwave,Glowell",
                (12, 400),
                color="Black,Rose",
            ),
            _leaf(
                "beauty-bath",
                "Bath Salts,Body Wash,Soap Bar",
                "Pure Leaf,Verdant",
                (5, 45),
                scent="Lavender,Citrus,Unscented",
            ),
        ],
    ),
    "toys": (
        "Toys & Games",
        Decimal("0.0625"),
        [
            _leaf(
                "toys-building",
                "Building Set,Brick Kit,Construction Set",
                "Blockworks,Buildit",
                (10, 250),
                pieces="250,500,1000",
            ),
            _leaf(
                "toys-board-games",
                "Board Game,Strategy Game,Party Game",
                "Meeple Co,Gameday",
                (12, 90),
                players="2-4,3-6,2-8",
            ),
            _leaf(
                "toys-puzzles",
                "Jigsaw Puzzle,3D Puzzle",
                "Piecewise,Meeple Co",
                (8, 60),
                pieces="500,1000,2000",
            ),
            _leaf(
                "toys-dolls",
                "Doll,Dollhouse,Plush Toy",
                "Sunny Days,Cuddle Co",
                (8, 180),
                color="Pink,Blue,Yellow",
            ),
            _leaf(
                "toys-outdoor",
                "Scooter,Kite,Water Blaster",
                "Sunny Days,Zoomer",
                (10, 220),
                color="Red,Blue,Green",
            ),
            _leaf(
                "toys-educational",
                "Science Kit,Coding Robot,Microscope",
                "Brainy,Buildit",
                (15, 260),
                age="6+,8+,12+",
            ),
        ],
    ),
    "grocery": (
        "Grocery",
        Decimal("0.0"),
        [
            _leaf(
                "grocery-coffee-tea",
                "Coffee Beans,Green Tea,Herbal Tea,Espresso Pods",
                "Mokka,Leafy,Highland",
                (4, 45),
                size="250g,500g,1kg",
            ),
            _leaf(
                "grocery-snacks",
                "Trail Mix,Granola Bar,Crackers,Chips",
                "Crunchy,Highland,Oatwell",
                (2, 20),
                size="Single,Family",
            ),
            _leaf(
                "grocery-pantry",
                "Olive Oil,Pasta,Rice,Honey",
                "Highland,Oatwell,Terra",
                (3, 35),
                size="500g,1kg",
            ),
            _leaf(
                "grocery-breakfast",
                "Oats,Cereal,Pancake Mix",
                "Oatwell,Crunchy",
                (3, 18),
                size="500g,1kg",
            ),
            _leaf(
                "grocery-beverages",
                "Sparkling Water,Juice,Cold Brew",
                "Fizz,Terra,Mokka",
                (2, 25),
                pack="6,12,24",
            ),
            _leaf(
                "grocery-spices",
                "Spice Blend,Sea Salt,Peppercorns",
                "Terra,Highland",
                (3, 20),
                size="50g,100g",
            ),
        ],
    ),
    "books": (
        "Books & Media",
        Decimal("0.0"),
        [
            _leaf(
                "books-fiction",
                "Novel,Thriller,Short Stories",
                "Penrose Press,Inkwell",
                (8, 35),
                format="Paperback,Hardcover,Ebook",
            ),
            _leaf(
                "books-nonfiction",
                "Biography,History,Essays",
                "Penrose Press,Atlas House",
                (10, 45),
                format="Paperback,Hardcover,Ebook",
            ),
            _leaf(
                "books-cooking",
                "Cookbook,Baking Book",
                "Culina Press,Atlas House",
                (12, 50),
                format="Paperback,Hardcover",
            ),
            _leaf(
                "books-kids",
                "Picture Book,Chapter Book,Activity Book",
                "Sunny Days,Inkwell",
                (5, 25),
                format="Paperback,Board Book",
            ),
            _leaf(
                "books-music",
                "Vinyl Record,CD,Songbook",
                "Groove,Atlas House",
                (10, 60),
                format="Vinyl,CD",
            ),
            _leaf(
                "books-movies",
                "Blu-ray,DVD Box Set",
                "Reelhouse,Groove",
                (8, 80),
                format="Blu-ray,DVD",
            ),
        ],
    ),
}

ADJECTIVES = (
    "Classic",
    "Pro",
    "Ultra",
    "Essential",
    "Everyday",
    "Premium",
    "Compact",
    "Lite",
    "Max",
    "Eco",
    "Signature",
    "Studio",
    "Active",
    "Smart",
    "Deluxe",
    "Urban",
)
FEATURES = (
    "built to last",
    "easy to clean",
    "lightweight",
    "award-winning design",
    "two-year warranty",
    "recycled materials",
    "customer favourite",
    "travel friendly",
    "energy efficient",
    "made for everyday use",
)


def categories() -> list[Category]:
    result: list[Category] = []
    for d_order, (slug, (name, _, leaves)) in enumerate(DEPARTMENTS.items()):
        result.append(
            Category(slug=slug, name=name, sort_order=d_order, description=f"Shop {name.lower()}")
        )
        for l_order, leaf in enumerate(leaves):
            result.append(
                Category(
                    slug=leaf.slug,
                    name=leaf.name,
                    parent_slug=slug,
                    sort_order=l_order,
                    description=f"{leaf.name} in {name}",
                )
            )
    return result


def products(count: int = 10_000, seed: int = DEFAULT_SEED) -> Iterator[Product]:
    rng = random.Random(seed)
    leaves = [(leaf, tax) for _, (_, tax, ls) in DEPARTMENTS.items() for leaf in ls]
    for i in range(count):
        leaf, tax = leaves[rng.randrange(len(leaves))]
        yield _product(rng, i, leaf, tax)


def _product(rng: random.Random, i: int, leaf: Leaf, tax: Decimal) -> Product:
    brand = rng.choice(leaf.brands)
    noun = rng.choice(leaf.nouns)
    adjective = rng.choice(ADJECTIVES)
    model = f"{rng.choice('ABCDEFGHKMNPRSTX')}{rng.randint(1, 99)}"
    name = f"{brand} {adjective} {noun} {model}"
    pid = f"prod-{i:06d}"
    lo, hi = leaf.price
    mu, sigma = (math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / 4
    amount = min(max(rng.lognormvariate(mu, sigma), lo), hi)
    price = quantize(Decimal(str(round(amount))) - Decimal("0.01"))
    on_sale = rng.random() < 0.2
    compare_at = (
        quantize(price * Decimal(str(round(rng.uniform(1.1, 1.5), 2)))) if on_sale else None
    )
    axis = next(iter(leaf.attributes))
    values = list(leaf.attributes[axis])
    rng.shuffle(values)
    chosen = sorted(values[: rng.randint(1, min(4, len(values)))])
    variants = []
    for n, value in enumerate(chosen):
        sku = f"{leaf.slug.split('-')[0][:3].upper()}-{i:06d}-{n + 1}"
        stock = 0 if rng.random() < 0.08 else rng.randint(1, 250)
        adj = Decimal(n * rng.choice((0, 0, 10, 20, 50))) if lo > 100 else Decimal(0)
        variants.append(
            {
                "variant_id": f"{pid}-v{n + 1}",
                "sku": sku,
                "attributes": {axis: value},
                "price_adjustment": adj,
                "stock": stock,
            }
        )
    extra = {k: rng.choice(v) for k, v in leaf.attributes.items() if k != axis}
    created = EPOCH + timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
    roll = rng.random()
    status = (
        ProductStatus.DRAFT
        if roll < 0.03
        else ProductStatus.ARCHIVED
        if roll < 0.05
        else ProductStatus.ACTIVE
    )
    features = rng.sample(FEATURES, 3)
    slug = f"{brand}-{adjective}-{noun}-{model}-{i}".lower().replace(" ", "-")
    return Product.model_validate(
        {
            "product_id": pid,
            "category_slug": leaf.slug,
            "sku": f"{leaf.slug.split('-')[0][:3].upper()}-{i:06d}",
            "name": name,
            "slug": "".join(ch for ch in slug if ch.isalnum() or ch == "-"),
            "description": f"The {brand} {adjective} {noun}: {', '.join(features)}.",
            "long_description": f"{name} from {brand}. "
            + " ".join(f.capitalize() + "." for f in features),
            "brand": brand,
            "price": {
                "amount": price,
                "currency": "USD",
                "compare_at": compare_at,
                "tax_rate": tax,
            },
            "images": [
                {
                    "url": f"https://images.smartcommerce.example/{pid}/{k}.jpg",
                    "alt": f"{name} view {k}",
                    "order": k,
                }
                for k in (1, 2)
            ],
            "variants": variants,
            "attributes": {**extra, "line": adjective},
            "seo": {
                "meta_title": f"{name} | SmartCommerce",
                "meta_description": f"Buy the {name}.",
                "canonical_url": f"/product/{pid}",
            },
            "status": status,
            "created_at": created,
            "updated_at": created,
            "published_at": created if status != ProductStatus.DRAFT else None,
            "analytics": {
                "views": rng.randint(0, 20000),
                "add_to_cart": rng.randint(0, 900),
                "purchases": rng.randint(0, 300),
            },
        }
    )
