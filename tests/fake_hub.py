"""A fake Hugging Face Hub served through an httpx2 MockTransport (no network)."""

from __future__ import annotations

import base64
import json

import httpx2

TOKEN = "hf_test_secret_token_123"


class FakeHub:
    """Answers create_repo, validate-yaml, preupload and commit like the Hub; records requests."""

    def __init__(self) -> None:
        self.repos: set[str] = set()
        self.requests: list[httpx2.Request] = []
        self.commits: list[dict] = []
        self.down = False
        self.reject_token = False

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        if self.down:
            raise httpx2.ConnectError("connection refused", request=request)
        if self.reject_token:
            return httpx2.Response(401, json={"error": "Invalid credentials"})
        path = request.url.path
        if path == "/api/repos/create":
            body = json.loads(request.content)
            repo = f"{body['organization']}/{body['name']}"
            if repo in self.repos:
                return httpx2.Response(409, json={"error": "You already created this model repo",
                                                  "url": f"https://huggingface.co/{repo}"})
            self.repos.add(repo)
            return httpx2.Response(200, json={"url": f"https://huggingface.co/{repo}"})
        if path == "/api/validate-yaml":
            return httpx2.Response(200, json={"errors": [], "warnings": []})
        if path.endswith("/preupload/main"):
            files = json.loads(request.content)["files"]
            return httpx2.Response(200, json={"files": [
                {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                for f in files]})
        if "/commit/" in path:
            lines = [json.loads(line) for line in request.content.decode().splitlines()]
            files = {v["value"]["path"]: base64.b64decode(v["value"]["content"])
                     for v in lines if v["key"] == "file"}
            self.commits.append({"path": path, "header": lines[0]["value"], "files": files})
            repo = "/".join(path.split("/")[3:5])
            return httpx2.Response(200, json={
                "commitUrl": f"https://huggingface.co/{repo}/commit/{'a' * 40}",
                "commitOid": "a" * 40})
        return httpx2.Response(404, json={"error": f"no route {path}"})
