"""akapit's MCP server driven by the official MCP Python SDK (`mcp` on the Python package
index), over both transports: stdio (`akapit mcp`, launched by the SDK) and streamable
HTTP (`/mcp` of a running `akapit serve`). Lists the tools, calls each, checks the answers
and citations, and checks that bad calls get MCP errors and leave the server answering.

    python mcp_client.py --akapit BIN --project DIR --url http://127.0.0.1:PORT/mcp

`DIR` holds an index of the seeds (built with the model `AKAPIT_MODEL_DIR` names, which the
stdio server inherits). Exits non-zero with the failed check on stderr.
"""

import argparse
import asyncio
import os
import sys

from mcp import Client, MCPError, StdioServerParameters

QUESTION = "Kiedy Łukaszenko ogłosił, że broń jądrowa dotarła na Białoruś?"
ANSWER = "1 sierpnia"


def check(condition, message):
    if not condition:
        raise AssertionError(message)


async def expect_error(client, name, arguments, what):
    try:
        result = await client.call_tool(name, arguments)
    except MCPError as e:
        print(f"  {what}: MCP error {e.error.code}: {e.error.message}")
        return
    check(False, f"{what}: expected an MCP error, got {result}")


async def exercise(client, transport):
    print(f"{transport}:")
    tools = (await client.list_tools()).tools
    names = sorted(t.name for t in tools)
    check(names == ["related", "search", "show", "status"], f"tools are {names}")
    for tool in tools:
        check(len(tool.description or "") > 80, f"{tool.name} has a description for a model")
        check(tool.input_schema.get("type") == "object", f"{tool.name} has an object schema")
    search = next(t for t in tools if t.name == "search")
    check(search.input_schema["required"] == ["query"], "search requires query")
    print(f"  tools: {', '.join(names)}")

    found = await client.call_tool("search", {"query": QUESTION, "k": 3})
    check(not found.is_error, f"search failed: {found.content}")
    results = found.structured_content["results"]
    check(len(results) == 3, f"3 results, got {len(results)}")
    check(any(ANSWER in r["text"] for r in results), f"{ANSWER!r} in the top 3")
    for r in results:
        check(r["doc"].startswith("seeds/") and r["paragraph"] >= 1, f"citation of {r}")
        check(r["start_line"] >= 1 and r["end_line"] >= r["start_line"], f"lines of {r}")
    check(ANSWER in found.content[0].text, "the text content carries the answer too")
    best = next(r for r in results if ANSWER in r["text"])
    print(f"  search: {best['doc']} ¶{best['paragraph']}, lines {best['start_line']}–{best['end_line']}")

    shown = await client.call_tool("show", {"doc": best["doc"], "paragraph": best["paragraph"], "context": 1})
    check(not shown.is_error, f"show failed: {shown.content}")
    passages = shown.structured_content["passages"]
    targets = [p for p in passages if p["target"]]
    check(len(targets) == 1 and targets[0]["paragraph"] == best["paragraph"], f"show's target {targets}")
    check(1 <= len(passages) <= 3, f"show gives the neighbours: {len(passages)}")
    print(f"  show: {len(passages)} passages around ¶{best['paragraph']}")

    related = await client.call_tool("related", {"doc": best["doc"], "paragraph": best["paragraph"], "k": 3})
    check(not related.is_error, f"related failed: {related.content}")
    others = related.structured_content["results"]
    check(others and all(r["doc"] != best["doc"] for r in others), "related comes from other documents")
    check(related.structured_content["source"]["paragraph"] == best["paragraph"], "related names its source")
    print(f"  related: {len(others)} passages from {len({r['doc'] for r in others})} other documents")

    status = await client.call_tool("status", {})
    check(not status.is_error, f"status failed: {status.content}")
    check(status.structured_content["passages"] > 0 and status.structured_content["damage"] is None, "status")
    print(f"  status: {len(status.structured_content['documents'])} documents, intact")

    await expect_error(client, "delete_everything", {}, "unknown tool")
    await expect_error(client, "search", {}, "search without a query")
    await expect_error(client, "search", {"query": "x", "k": "many"}, "k that is not a number")
    await expect_error(client, "search", {"query": "x", "k": 0}, "k out of range")
    await expect_error(client, "search", {"query": "x", "colour": "red"}, "an unknown argument")
    await expect_error(client, "show", {"doc": best["doc"], "paragraph": 1, "page": 1}, "paragraph and page")
    missing = await client.call_tool("show", {"doc": "../../etc/passwd"})
    check(missing.is_error and "not in the index" in missing.content[0].text, f"show of a file not indexed: {missing}")
    print(f"  show of ../../etc/passwd: tool error: {missing.content[0].text}")

    again = await client.call_tool("search", {"query": "Zapad", "k": 1, "mode": "lexical"})
    check(not again.is_error and len(again.structured_content["results"]) == 1, "answers after the bad calls")
    print("  still answering after the bad calls")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--akapit", required=True)
    parser.add_argument("--project", required=True)
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    stdio = StdioServerParameters(
        command=args.akapit,
        args=["mcp", "--quiet"],
        cwd=args.project,
        env={k: v for k, v in os.environ.items() if k.startswith(("AKAPIT_", "HF_"))},
    )
    async with Client(stdio) as client:
        await exercise(client, "stdio")
    async with Client(args.url) as client:
        await exercise(client, "streamable HTTP")
    print("mcp: every check passed on both transports")


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except AssertionError as e:
        print(f"mcp check failed: {e}", file=sys.stderr)
        sys.exit(1)
