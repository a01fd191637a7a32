-- Assertions shared by the specs (busted's `assert` is a global there).
local expect = {}

-- Runs fn, which must raise; the message must contain every one of `texts`
-- (a string or a list of strings, matched plainly).  Returns the message.
function expect.raises(texts, fn, ...)
  if type(texts) == "string" then texts = { texts } end
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "expected an error containing: " .. table.concat(texts, " / "))
  err = tostring(err)
  for _, text in ipairs(texts) do
    assert.is_truthy(err:find(text, 1, true), ("expected %q in %q"):format(text, err))
  end
  return err
end

return expect
