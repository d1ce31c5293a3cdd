"""Injects WebSocket messages (as mitmproxy's websocket-inject-message
example): a message with "secret" is replaced, and a task injects a
greeting every 0.2 s until the connection ends."""
import asyncio

from mitmproxy import ctx, http


def websocket_message(flow: http.HTTPFlow):
    last_message = flow.websocket.messages[-1]
    if last_message.is_text and "secret" in last_message.text:
        last_message.drop()
        ctx.master.commands.call("inject.websocket", flow, last_message.from_client, b"ssssssh")


async def inject_async(flow: http.HTTPFlow):
    msg = "hello from mitmgo! "
    while flow.websocket.timestamp_end is None:
        ctx.master.commands.call("inject.websocket", flow, True, msg.encode())
        await asyncio.sleep(0.2)
        msg = msg[1:] + msg[:1]
    print("injector stopped")


tasks = set()


def websocket_start(flow: http.HTTPFlow):
    t = asyncio.create_task(inject_async(flow))
    tasks.add(t)
    t.add_done_callback(tasks.remove)
