def test_smoke(client, plant):
    r = client.get("/api/v1/plant/nodes")
    assert r.status_code == 200, r.text
    assert [n["code"] for n in r.json()][:3] == ["ENT", "SH", "RM"] or len(r.json()) == 8
    r = client.get("/plant/tree")
    assert r.status_code == 200, r.text
    assert "上海工厂" in r.text
    r = client.get(f"/plant/nodes/{plant.wc1}")
    assert r.status_code == 200, r.text
    r = client.get("/")
    assert r.status_code == 200, r.text
    r = client.get("/admin/outbox")
    assert r.status_code == 200, r.text
