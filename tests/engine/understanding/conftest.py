"""Small synthetic catalogs for understanding tests (no data files needed)."""
import pytest

from recommender.engine.types import ItemRecord
from recommender.engine.understanding import CatalogIndex


def film(i, title, genres, year, aliases=()):
    return ItemRecord(f"ml-{i}", title, "movie", aliases=tuple(aliases), attributes={"genres": genres, "year": year})


FILMS = [
    film(1, "Toy Story (1995)", ["Animation", "Children's", "Comedy"], 1995, ["玩具总动员"]),
    film(2, "Matrix, The (1999)", ["Action", "Sci-Fi", "Thriller"], 1999, ["黑客帝国"]),
    film(3, "Scream (1996)", ["Horror", "Thriller"], 1996, ["惊声尖叫"]),
    film(4, "Titanic (1997)", ["Drama", "Romance"], 1997, ["泰坦尼克号"]),
    film(5, "War, The (1994)", ["Drama"], 1994),
    film(6, "Star Wars (1977)", ["Action", "Sci-Fi"], 1977, ["星球大战"]),
    film(7, "Heat (1995)", ["Action", "Crime"], 1995),
    film(8, "Heat (1972)", ["Drama"], 1972),
    film(9, "Lion King, The (1994)", ["Animation", "Musical"], 1994, ["狮子王"]),
    film(10, "Terminator 2: Judgment Day (1991)", ["Action", "Sci-Fi"], 1991),
    film(11, "Casablanca (1942)", ["Drama", "Romance", "War"], 1942),
    film(12, "Good, The Bad and The Ugly, The (1966)", ["Western"], 1966),
]
PRODUCTS = [
    ItemRecord("p-1", "Red Summer Dress", "product", attributes={"category": "dress", "color": "red", "season": ["summer"], "price": 39.0, "material": "cotton", "gender": "women"}),
    ItemRecord("p-2", "Black Leather Jacket", "product", attributes={"category": "jacket", "color": "black", "season": ["autumn"], "price": 180.0, "material": "leather", "gender": "men"}),
    ItemRecord("p-3", "White Sneakers", "product", attributes={"category": "sneakers", "color": "white", "season": ["spring", "summer"], "price": 60.0, "material": "canvas", "gender": "unisex"}),
    ItemRecord("b-1", "Dune", "book", attributes={"genres": ["science fiction"], "year": 1965}),
]


@pytest.fixture(scope="session")
def movies():
    return CatalogIndex(FILMS, popularity={"ml-7": 500, "ml-8": 3})


@pytest.fixture(scope="session")
def shop():
    return CatalogIndex(PRODUCTS + FILMS[:2])
