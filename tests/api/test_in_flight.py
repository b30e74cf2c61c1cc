"""Many clients at once: the API keeps answering (requests beyond the limit wait their turn) instead of
freezing with every thread waiting for a database connection."""

import threading

import httpx2 as httpx
from fastapi.testclient import TestClient

from tests.fixtures import Accounts, new_household

CLIENTS = 64  # more than the server's 40 threads


def test_sixty_four_clients_at_once_are_all_answered(
    client: TestClient, accounts: Accounts, live_server: str
) -> None:
    """48 clients froze the API until the database pool's 30 s timeout, then got 500s: the requests holding
    connections waited for a thread, and every thread waited for a connection."""
    household = new_household(client, accounts["cadre_a"])
    url = f"{live_server}/api/v1/households/{household['id']}"
    barrier = threading.Barrier(CLIENTS)
    answers: list[int] = []

    def read() -> None:
        with httpx.Client(timeout=25) as http:
            barrier.wait()
            for _ in range(3):
                try:
                    answers.append(http.get(url, headers=accounts["cadre_a"]).status_code)
                except httpx.TimeoutException:
                    answers.append(0)

    threads = [threading.Thread(target=read) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * (3 * CLIENTS)
