"""The shop's seed: the documented users and products, and an admin in data dirs from before."""

from sandbox.shop.schema import open_database
from sandbox.shop.seed import PRODUCTS, seed_if_empty

ADMIN = ("64b000000000000000000004", "admin@example.com", "admin")


def test_a_fresh_shop_has_an_admin_beside_the_customers_and_the_auditor() -> None:
    database = open_database(None)

    seed_if_empty(database)

    users = database.execute("SELECT id, email, role FROM users ORDER BY id").fetchall()
    assert [tuple(user) for user in users] == [
        ("64b000000000000000000001", "testuser@example.com", "user"),
        ("64b000000000000000000002", "otheruser@example.com", "user"),
        ("64b000000000000000000003", "auditor@example.com", "auditor"),
        ADMIN,
    ]
    assert database.execute("SELECT count(*) FROM products").fetchone()[0] == len(PRODUCTS)


def test_a_shop_seeded_before_the_admin_existed_gains_it_and_keeps_its_state() -> None:
    database = open_database(None)
    seed_if_empty(database)
    with database:  # a data dir from before: no admin, stock sold, a user's password changed
        database.execute("DELETE FROM users WHERE role = 'admin'")
        database.execute("UPDATE products SET stock = 1")
        database.execute("UPDATE users SET password_hash = 'kept' WHERE role = 'user'")

    seed_if_empty(database)

    admin = database.execute("SELECT id, email, role FROM users WHERE role = 'admin'").fetchall()
    assert [tuple(user) for user in admin] == [ADMIN]
    assert {row[0] for row in database.execute("SELECT stock FROM products")} == {1}
    kept = database.execute("SELECT password_hash FROM users WHERE role = 'user'").fetchall()
    assert {row[0] for row in kept} == {"kept"}
