-- Assertions shared by the specs.  A helper module does not see busted's
-- `assert` (each spec file runs in its own environment), so a failure here
-- is a plain error, which busted reports as the test's failure.
local expect = {}

-- Runs fn, which must raise; the message must contain every one of `texts`
-- (a string or a list of strings, matched plainly).  Returns the message.
function expect.raises(texts, fn, ...)
  if type(texts) == "string" then texts = { texts } end
  local ok, err = pcall(fn, ...)
  if ok then
    error("expected an error containing: " .. table.concat(texts, " / "), 2)
  end
  err = tostring(err)
  for _, text in ipairs(texts) do
    if not err:find(text, 1, true) then
      error(("expected %q in %q"):format(text, err), 2)
    end
  end
  return err
end

return expect
