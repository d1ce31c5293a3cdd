def websocket_message(flow): flow.websocket.messages[-1].content += b""
