# Marks and comments every flow in its request hook, as a script that
# tags flows does: the writes land on the proxy's goroutine while a UI's
# commands mark and comment the same flows (TestScriptMarksWhileUIMarks).
def request(flow):
    flow.marked = ":script:"
    flow.comment = "from the script " + flow.request.path
